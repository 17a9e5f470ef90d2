import 'server-only';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { getServices } from '../services/instance';
import { createContext, type SessionUser } from '../trpc/init';

/** The signed-in user of the current request (server components), or null. */
export async function currentUser(): Promise<SessionUser | null> {
  // Reading the headers first marks the page dynamic, so `next build` never prerenders it (nor opens the
  // database to do so).
  const requestHeaders = await headers();
  const services = await getServices();
  const ctx = await createContext({ services, headers: requestHeaders });
  return ctx.user;
}

/** The signed-in user, or a redirect to the sign-in page that comes back here afterwards. */
export async function requireUser(): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) {
    const path = (await headers()).get('x-lovage-path'); // set by src/proxy.ts
    redirect(path && path !== '/' ? `/sign-in?next=${encodeURIComponent(path)}` : '/sign-in');
  }
  return user;
}
