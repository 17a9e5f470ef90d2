'use client';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback } from 'react';

/**
 * The URL is the table's state: read it with `params`, change it with `update` (empty values are
 * removed; any filter change goes back to page 1 unless `page` is set).
 */
/** Sets URL parameters: empty values remove theirs. */
export type UrlUpdate = (changes: Record<string, string | number | null | undefined>) => void;

export function useUrlState() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const update = useCallback<UrlUpdate>(
    (changes) => {
      const next = new URLSearchParams(params.toString());
      if (!('page' in changes)) next.delete('page');
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === undefined || v === '') next.delete(k);
        else next.set(k, String(v));
      }
      const qs = next.toString();
      router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false });
    },
    [params, pathname, router],
  );
  return { params, update };
}

/** epoch ms -> the value of a datetime-local input (local time). */
export function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
