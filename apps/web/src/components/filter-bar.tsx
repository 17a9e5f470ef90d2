'use client';
import type { FormEvent } from 'react';
import { Button, Input, Select } from './ui';
import { toLocalInput, type UrlUpdate } from './use-url-state';

/** One filter of a list page; its `name` is its URL parameter. */
export type FilterSpec =
  | { kind: 'text'; name: string; label: string; value: string | undefined; suggestions?: readonly string[] }
  | {
      kind: 'select';
      name: string;
      label: string;
      value: string | undefined;
      any: string;
      options: readonly { value: string; label: string }[];
    }
  /** A point in time, epoch ms in the URL's parsed form, a datetime-local input on the page. */
  | { kind: 'time'; name: string; label: string; value: number | undefined };

/**
 * The filter form above a list: the URL holds the values (the page parses them leniently, the server
 * strictly), so applying writes them to the URL and Clear removes them; either goes back to page 1.
 */
export function FilterBar({
  label,
  filters,
  update,
  resetKey,
  className,
}: {
  label: string;
  filters: readonly FilterSpec[];
  update: UrlUpdate;
  /** Changes when the URL does, so the uncontrolled inputs show what the URL says. */
  resetKey: string;
  /** Grid columns for the filters and the buttons. */
  className: string;
}) {
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    update(Object.fromEntries(filters.map((f) => [f.name, String(form.get(f.name) ?? '').trim()])));
  }

  return (
    <form
      key={resetKey}
      onSubmit={onSubmit}
      aria-label={label}
      className={`mb-4 grid gap-2 rounded-lg border border-slate-200 bg-white p-3 ${className}`}
    >
      {filters.map((f) => (
        <label key={f.name} className="text-xs text-slate-600">
          {f.label}
          {f.kind === 'select' ? (
            <Select name={f.name} defaultValue={f.value ?? ''} aria-label={f.label}>
              <option value="">{f.any}</option>
              {f.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </Select>
          ) : f.kind === 'time' ? (
            <Input
              type="datetime-local"
              name={f.name}
              defaultValue={toLocalInput(f.value)}
              aria-label={f.label}
            />
          ) : (
            <Input
              name={f.name}
              list={f.suggestions ? `${f.name}-suggestions` : undefined}
              defaultValue={f.value ?? ''}
              aria-label={f.label}
            />
          )}
        </label>
      ))}
      <div className="flex items-end gap-2">
        <Button type="submit">Apply filters</Button>
        <Button
          variant="ghost"
          onClick={() => update(Object.fromEntries(filters.map((f) => [f.name, null])))}
        >
          Clear
        </Button>
      </div>
      {filters.map(
        (f) =>
          f.kind === 'text' &&
          f.suggestions && (
            <datalist key={f.name} id={`${f.name}-suggestions`}>
              {f.suggestions.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          ),
      )}
    </form>
  );
}
