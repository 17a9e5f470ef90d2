import 'server-only';
import { initTRPC, TRPCError } from '@trpc/server';
import { hasRole, isRole, type Role } from '../auth/roles';
import { refuseCrossOrigin } from '../auth/origin';
import type { Services } from '../services/services';
import { describeIssues } from '../../trpc/zod-messages';
import { toTRPCError } from './errors';

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface Context {
  services: Services;
  /** The request's headers: the session cookie, Origin and Fetch Metadata. */
  headers: Headers;
  user: SessionUser | null;
}

/** Resolves the session from the request's cookie; an unknown, expired or forged cookie gives no user. */
export async function createContext(opts: { services: Services; headers: Headers }): Promise<Context> {
  const session = await opts.services.auth.api.getSession({ headers: opts.headers }).catch(() => null);
  const u = session?.user as { id: string; email: string; name: string; role?: unknown } | undefined;
  return {
    services: opts.services,
    headers: opts.headers,
    user: u ? { id: u.id, email: u.email, name: u.name, role: isRole(u.role) ? u.role : 'viewer' } : null,
  };
}

export interface FieldIssue {
  path: string[];
  message: string;
}

function issuesOf(cause: unknown): FieldIssue[] | undefined {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return undefined;
  return issues.map((i: { path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>; message?: string }) => ({
    path: (i.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p)),
    message: i.message ?? 'invalid',
  }));
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    // Validation failures carry their field paths, so a form shows each message under its field.
    // The message names the fields in words ("Number of processes must be at most 100"), not zod's JSON.
    const issues = error.code === 'BAD_REQUEST' ? issuesOf(error.cause) : undefined;
    const message = issues?.length ? describeIssues(issues) : shape.message;
    return { ...shape, message, data: { ...shape.data, stack: undefined, issues } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Every procedure: runtime errors mapped by their codes through one table; mutations checked for origin. */
export const publicProcedure = t.procedure.use(async ({ ctx, type, next }) => {
  if (type === 'mutation') {
    const refused = refuseCrossOrigin(ctx.headers, ctx.services.env.trustedOrigins);
    if (refused) throw new TRPCError({ code: 'FORBIDDEN', message: `Refused: ${refused}.` });
  }
  const result = await next();
  // tRPC wraps anything that is not a TRPCError as INTERNAL_SERVER_ERROR with the original as its cause.
  const err = result.ok ? null : result.error;
  if (err && err.code === 'INTERNAL_SERVER_ERROR' && err.cause && !(err.cause instanceof TRPCError)) {
    throw toTRPCError(err.cause);
  }
  return result;
});

/** Signed-in users of any role. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  return next({ ctx: { user: ctx.user } });
});

function requireRole(role: Role) {
  return protectedProcedure.use(({ ctx, next }) => {
    if (!hasRole(ctx.user.role, role)) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `This needs the ${role} role; you are ${ctx.user.role === 'admin' ? 'an' : 'a'} ${ctx.user.role}.`,
      });
    }
    return next();
  });
}

/** Retry, revoke, pool and limit changes. */
export const operatorProcedure = requireRole('operator');
/** Configuration and users. */
export const adminProcedure = requireRole('admin');
