/**
 * "Export CSV" and "Export JSON" for a filtered list: plain download links to the export routes with the
 * list's filters (not its page), so the whole selection is streamed, however many pages it spans.
 */
export function ExportLinks({
  what,
  path,
  filters,
}: {
  /** What is exported, for the links' accessible names ("tasks", "audit log"). */
  what: string;
  path: '/api/export/tasks' | '/api/export/audit';
  filters: Record<string, string | number | undefined>;
}) {
  const href = (format: 'csv' | 'json') => {
    const q = new URLSearchParams({ format });
    for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== '') q.set(k, String(v));
    return `${path}?${q.toString()}`;
  };
  const link =
    'rounded border border-slate-300 bg-white px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-emerald-600';
  return (
    <span className="flex gap-1">
      <a className={link} href={href('csv')} download aria-label={`Export ${what} as CSV`}>
        Export CSV
      </a>
      <a className={link} href={href('json')} download aria-label={`Export ${what} as JSON`}>
        Export JSON
      </a>
    </span>
  );
}
