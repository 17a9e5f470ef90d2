'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { SignOutButton } from '../auth/sign-out-button';
import { useSessionUser } from '../auth/session-context';

const LINKS = [
  { href: '/tasks', label: 'Tasks' },
  { href: '/workers', label: 'Workers' },
  { href: '/queues', label: 'Queues' },
  { href: '/dead-letters', label: 'Dead letters' },
  { href: '/settings', label: 'Settings' },
  { href: '/audit', label: 'Audit log' },
  { href: '/users', label: 'Users', admin: true },
];

export function Sidebar() {
  const pathname = usePathname();
  const user = useSessionUser();
  return (
    <aside className="flex w-56 shrink-0 flex-col border-r border-slate-200 bg-white">
      <div className="px-4 py-4">
        <Link href="/tasks" className="text-lg font-bold text-emerald-800">
          Lovage
        </Link>
        <p className="text-xs text-slate-500">operations console</p>
      </div>
      <nav aria-label="Main" className="flex-1 space-y-0.5 px-2">
        {LINKS.filter((l) => !l.admin || user.role === 'admin').map((l) => {
          const active = pathname === l.href || pathname.startsWith(`${l.href}/`);
          return (
            <Link
              key={l.href}
              href={l.href}
              aria-current={active ? 'page' : undefined}
              className={`block rounded-md px-3 py-1.5 text-sm ${active ? 'bg-emerald-50 font-semibold text-emerald-900' : 'text-slate-700 hover:bg-slate-100'}`}
            >
              {l.label}
            </Link>
          );
        })}
      </nav>
      <div className="border-t border-slate-200 p-3">
        <p className="truncate text-sm font-medium text-slate-800" title={user.email}>
          {user.email}
        </p>
        <p className="mb-2 text-xs text-slate-500" aria-label="Your role">
          {user.role}
        </p>
        <SignOutButton />
      </div>
    </aside>
  );
}
