import type { ReactNode } from 'react';
import { SessionProvider } from '@/features/auth/session-context';
import { Sidebar } from '@/features/layout/sidebar';
import { requireUser } from '@/server/auth/session';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requireUser();
  return (
    <SessionProvider user={user}>
      {/* A phone: the navigation is a bar on top; from md up, a sidebar. */}
      <div className="flex min-h-screen flex-col md:flex-row">
        <Sidebar />
        <main className="min-w-0 flex-1 p-3 md:p-6">{children}</main>
      </div>
    </SessionProvider>
  );
}
