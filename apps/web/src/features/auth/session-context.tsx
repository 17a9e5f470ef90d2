'use client';
import { createContext, useContext, type ReactNode } from 'react';
import { hasRole, type Role } from '@/server/auth/roles';

export interface ClientUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

const SessionContext = createContext<ClientUser | null>(null);

export function SessionProvider({ user, children }: { user: ClientUser; children: ReactNode }) {
  return <SessionContext.Provider value={user}>{children}</SessionContext.Provider>;
}

export function useSessionUser(): ClientUser {
  const user = useContext(SessionContext);
  if (!user) throw new Error('useSessionUser outside the console layout');
  return user;
}

/** Whether to show an action (the server refuses it anyway when the role is too weak). */
export function useCan(role: Role): boolean {
  return hasRole(useSessionUser().role, role);
}
