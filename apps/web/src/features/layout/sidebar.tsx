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
  { href: '/schedules', label: 'Schedules' },
  { href: '/settings', label: 'Settings' },
  { href: '/audit', label: 'Audit log' },
  { href: '/users', label: 'Users', admin: true },
];

export function Sidebar() {
  const pathname = usePathname();
  const user = useSessionUser();
  return (
    <aside className="flex w-full shrink-0 flex-col border-b border-slate-200 bg-white md:w-56 md:border-b-0 md:border-r">
      <div className="px-4 pt-3 md:py-4">
        <Link href="/tasks" className="text-lg font-bold text-emerald-800">
          Lovage
        </Link>
        <p className="text-xs text-slate-500">operations console</p>
      </div>
      <nav
        aria-label="Main"
        className="flex gap-1 overflow-x-auto px-2 py-2 md:block md:flex-1 md:space-y-0.5 md:overflow-visible md:py-0"
      >
        {LINKS.filter((l) => !l.admin || user.role === 'admin').map((l) => {
          const active = pathname === l.href || pathname.startsWith(`${l.href}/`);
          return (
            <Link
              key={l.href}
              href={l.href}
              aria-current={active ? 'page' : undefined}
              className={`block shrink-0 whitespace-nowrap rounded-md px-3 py-1.5 text-sm ${active ? 'bg-emerald-50 font-semibold text-emerald-900' : 'text-slate-700 hover:bg-slate-100'}`}
            >
              {l.label}
            </Link>
          );
        })}
      </nav>
      <div className="flex items-center gap-2 border-t border-slate-200 px-3 py-2 md:block md:p-3">
        <p className="min-w-0 truncate text-sm font-medium text-slate-800" title={user.email}>
          {user.email}
        </p>
        <p className="text-xs text-slate-500 md:mb-2" aria-label="Your role">
          {user.role}
        </p>
        <div className="ml-auto md:ml-0">
          <SignOutButton />
        </div>
      </div>
    </aside>
  );
}
