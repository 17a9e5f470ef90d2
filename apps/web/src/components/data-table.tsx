'use client';
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { Alert, Button } from './ui';
import type { UrlUpdate } from './use-url-state';

export interface Paging {
  page: number;
  perPage: number;
  total: number;
  /** False when `total` is a lower bound (a list on several filters stops counting far past its page). */
  exact?: boolean;
  onPage: (page: number) => void;
}

/** Paging for a page of a server-side list whose page number lives in the URL. */
export function urlPaging(
  data: { page: number; perPage: number; total: number; exact?: boolean } | undefined,
  update: UrlUpdate,
): Paging | undefined {
  return (
    data && {
      page: data.page,
      perPage: data.perPage,
      total: data.total,
      exact: data.exact,
      onPage: (page) => update({ page }),
    }
  );
}

/**
 * The one table of the console: TanStack Table for the rendering, the server for paging and filtering
 * (the page passes what the URL says). Renders loading, empty and error states.
 */
export function DataTable<T>({
  label,
  columns,
  data,
  isLoading,
  error,
  empty = 'Nothing to show.',
  paging,
  rowKey,
}: {
  label: string;
  columns: ColumnDef<T, unknown>[];
  data: T[] | undefined;
  isLoading?: boolean;
  error?: string | null;
  empty?: string;
  paging?: Paging;
  rowKey: (row: T) => string;
}) {
  const table = useReactTable({
    data: data ?? [],
    columns,
    getCoreRowModel: getCoreRowModel(),
    manualPagination: true,
    getRowId: rowKey,
  });
  const pages = paging ? Math.max(1, Math.ceil(paging.total / paging.perPage)) : 1;
  const atLeast = paging?.exact === false ? 'at least ' : '';
  return (
    <div className="space-y-2">
      {error && <Alert tone="error">{error}</Alert>}
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
        <table aria-label={label} aria-busy={isLoading || undefined} className="min-w-full text-left text-sm">
          <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-600">
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((header) => (
                  <th key={header.id} scope="col" className="px-3 py-2 font-semibold">
                    {header.isPlaceholder
                      ? null
                      : flexRender(header.column.columnDef.header, header.getContext())}
                  </th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody className="divide-y divide-slate-100">
            {isLoading && !data ? (
              <tr>
                <td colSpan={columns.length} className="px-3 py-6 text-center text-slate-500">
                  Loading…
                </td>
              </tr>
            ) : table.getRowModel().rows.length === 0 ? (
              <tr>
                <td colSpan={columns.length} className="px-3 py-6 text-center text-slate-500">
                  {error ? 'Could not load.' : empty}
                </td>
              </tr>
            ) : (
              table.getRowModel().rows.map((row) => (
                <tr key={row.id} className="hover:bg-slate-50">
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id} className="px-3 py-2 align-top">
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {paging && (
        <nav
          aria-label={`${label} pages`}
          className="flex items-center justify-between text-sm text-slate-600"
        >
          <span>
            {paging.total === 0
              ? 'No results'
              : `${(paging.page - 1) * paging.perPage + 1}–${Math.min(paging.page * paging.perPage, paging.total)} of ${atLeast}${paging.total}`}
          </span>
          <span className="flex items-center gap-2">
            <Button
              variant="secondary"
              disabled={paging.page <= 1}
              onClick={() => paging.onPage(paging.page - 1)}
            >
              Previous page
            </Button>
            <span>
              Page {paging.page} of {atLeast}
              {pages}
            </span>
            <Button
              variant="secondary"
              disabled={paging.page >= pages && paging.exact !== false}
              onClick={() => paging.onPage(paging.page + 1)}
            >
              Next page
            </Button>
          </span>
        </nav>
      )}
    </div>
  );
}
