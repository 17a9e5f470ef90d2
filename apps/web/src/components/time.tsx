/**
 * The console's one way to show a moment: absolute local time (`2026-12-07 18:22:04`, sortable and the
 * same on every page and browser), a relative hint (`3 min ago`), and the exact ISO time in the tooltip.
 */

const pad = (n: number) => String(n).padStart(2, '0');

function toDate(value: number | string | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `YYYY-MM-DD HH:mm:ss` in the browser's time zone; `—` for no time. */
export function formatTime(value: number | string | Date | null | undefined): string {
  const d = toDate(value);
  if (!d) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });

/** `5 sec ago`, `in 3 min`, `2 days ago`: the largest whole unit. */
export function relativeTime(value: number | string | Date, now: number = Date.now()): string {
  const ms = (toDate(value)?.getTime() ?? now) - now;
  const [unit, size] = UNITS.find(([, size]) => Math.abs(ms) >= size) ?? UNITS[UNITS.length - 1]!;
  return relative.format(Math.trunc(ms / size), unit);
}

/** A moment as the console shows it everywhere; `relative={false}` leaves out the hint (dense tables). */
export function Time({
  value,
  relative: withRelative = true,
}: {
  value: number | string | Date | null | undefined;
  relative?: boolean;
}) {
  const d = toDate(value);
  if (!d) return <span className="text-slate-500">—</span>;
  const iso = d.toISOString();
  return (
    // Rendered in the browser's time zone; a server render may differ, and the client's wins.
    <time dateTime={iso} title={iso} className="whitespace-nowrap" suppressHydrationWarning>
      {formatTime(d)}
      {withRelative && <span className="text-xs text-slate-500"> ({relativeTime(d)})</span>}
    </time>
  );
}
