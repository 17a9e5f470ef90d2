'use client';
import { createAuthClient } from 'better-auth/react';

/** better-auth's browser client, on the console's own origin. */
export const authClient = createAuthClient({ basePath: '/api/auth' });
