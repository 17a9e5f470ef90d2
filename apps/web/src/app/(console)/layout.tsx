import type { ReactNode } from 'react';
import { SessionProvider } from '@/features/auth/session-context';
import { Sidebar } from '@/features/layout/sidebar';
import { requireUser } from '@/server/auth/session';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requireUser();
  return (
    <SessionProvider user={user}>
      <div className="flex min-h-screen">
        <Sidebar />
        <main className="min-w-0 flex-1 p-6">{children}</main>
      </div>
    </SessionProvider>
  );
}
