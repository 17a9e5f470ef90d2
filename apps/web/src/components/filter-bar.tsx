'use client';
import { useEffect, useRef, useState, type FormEvent } from 'react';
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

/** How long typing in a text filter waits before the list follows. */
export const TEXT_FILTER_DEBOUNCE_MS = 400;

const shown = (f: FilterSpec): string => (f.kind === 'time' ? toLocalInput(f.value) : (f.value ?? ''));

/**
 * The filters above a list. The URL holds their values (the page parses them leniently, the server
 * strictly); a change applies at once (text after a short pause, or on Enter) and goes back to page 1;
 * Clear removes them all.
 */
export function FilterBar({
  label,
  filters,
  update,
}: {
  label: string;
  filters: readonly FilterSpec[];
  update: UrlUpdate;
}) {
  const fromUrl = JSON.stringify(Object.fromEntries(filters.map((f) => [f.name, shown(f)])));
  const [values, setValues] = useState<Record<string, string>>(() => JSON.parse(fromUrl));
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const latestUpdate = useRef(update);
  useEffect(() => {
    latestUpdate.current = update;
  }, [update]);
  useEffect(() => {
    // The URL changed (Clear, a state chip, Back): show it, except in the field someone is typing in.
    const typing = (document.activeElement as HTMLInputElement | null)?.name;
    setValues((current) => {
      const next: Record<string, string> = JSON.parse(fromUrl);
      const mine = typing !== undefined && typing in current ? current[typing]! : undefined;
      if (mine !== undefined && (timers.current.has(typing!) || mine.trim() === next[typing!])) {
        next[typing!] = mine;
      }
      return next;
    });
  }, [fromUrl]);
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach(clearTimeout);
  }, []);

  function apply(name: string, value: string) {
    clearTimeout(timers.current.get(name));
    timers.current.delete(name);
    latestUpdate.current({ [name]: value.trim() });
  }
  function change(f: FilterSpec, value: string) {
    setValues((v) => ({ ...v, [f.name]: value }));
    if (f.kind !== 'text') return apply(f.name, value);
    clearTimeout(timers.current.get(f.name));
    timers.current.set(
      f.name,
      setTimeout(() => apply(f.name, value), TEXT_FILTER_DEBOUNCE_MS),
    );
  }
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    timers.current.forEach(clearTimeout);
    timers.current.clear();
    update(Object.fromEntries(filters.map((f) => [f.name, (values[f.name] ?? '').trim()])));
  }

  return (
    <form
      onSubmit={onSubmit}
      aria-label={label}
      className="mb-4 grid grid-cols-[repeat(auto-fill,minmax(11rem,1fr))] gap-2 rounded-lg border border-slate-200 bg-white p-3"
    >
      {filters.map((f) => (
        <label key={f.name} className="min-w-0 text-xs text-slate-600">
          {f.label}
          {f.kind === 'select' ? (
            <Select
              name={f.name}
              value={values[f.name] ?? ''}
              onChange={(e) => change(f, e.target.value)}
              aria-label={f.label}
            >
              <option value="">{f.any}</option>
              {f.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </Select>
          ) : (
            <Input
              type={f.kind === 'time' ? 'datetime-local' : undefined}
              name={f.name}
              list={f.kind === 'text' && f.suggestions ? `${f.name}-suggestions` : undefined}
              value={values[f.name] ?? ''}
              onChange={(e) => change(f, e.target.value)}
              aria-label={f.label}
            />
          )}
        </label>
      ))}
      <div className="flex items-end gap-2">
        {/* Enter in a text filter applies it without waiting; the button only submits. */}
        <button type="submit" hidden tabIndex={-1} />
        <Button
          variant="secondary"
          onClick={() => update(Object.fromEntries(filters.map((f) => [f.name, null])))}
        >
          Clear filters
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
