/**
 * The end of `npm run bench`: per figure and system the median of the repetitions with min–max, the paired
 * Lovage/BullMQ ratio (each repetition's ratio, then their median) and Lovage's events-on/off ratios, as JSON
 * lines and as one markdown table.
 */
import { median, type Figure } from './lib.mjs';

/** Table columns, in order; a system with no figures is left out. */
const SYSTEMS = ['lovage', 'bullmq', 'lovage-amqp', 'celery', 'celery-amqp'] as const;

interface Cell {
  median: number;
  min: number;
  max: number;
  reps: number;
  unit: string;
  byRep: Map<number, number>;
}

/** Row order: enqueue, drain, latency, memory (then anything else), each in the order first measured. */
const GROUPS = [/^enqueue_/, /^drain_/, /_latency_/, /^rss_/];
const group = (figure: string): number => {
  const i = GROUPS.findIndex((g) => g.test(figure));
  return i < 0 ? GROUPS.length : i;
};

function cells(figures: readonly Figure[]): Map<string, Map<string, Cell>> {
  const rows = new Map<string, Map<string, Cell>>();
  for (const f of [...figures].sort((a, b) => group(a.figure) - group(b.figure))) {
    const row = rows.get(f.figure) ?? new Map<string, Cell>();
    rows.set(f.figure, row);
    const cell = row.get(f.system) ?? { median: 0, min: 0, max: 0, reps: 0, unit: f.unit, byRep: new Map() };
    row.set(f.system, cell);
    cell.byRep.set(f.rep, f.value);
  }
  for (const row of rows.values()) {
    for (const cell of row.values()) {
      const v = [...cell.byRep.values()];
      Object.assign(cell, { median: median(v), min: Math.min(...v), max: Math.max(...v), reps: v.length });
    }
  }
  return rows;
}

/** Median over the repetitions both have of a/b. */
function pairedRatio(a: Cell, b: Cell): number | null {
  const ratios = [...a.byRep].filter(([rep]) => b.byRep.has(rep)).map(([rep, v]) => v / b.byRep.get(rep)!);
  return ratios.length ? Math.round(median(ratios) * 100) / 100 : null;
}

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (unit === '/s') return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : `${Math.round(v)}`;
  if (unit === 'MB') return v.toFixed(0);
  return v.toFixed(2);
}

const show = (c: Cell | undefined): string =>
  !c
    ? ''
    : c.reps > 1
      ? `${fmt(c.median, c.unit)} (${fmt(c.min, c.unit)}–${fmt(c.max, c.unit)})`
      : fmt(c.median, c.unit);

/** Writes the summary JSON lines and returns the markdown table. */
export function summarize(figures: readonly Figure[], out: (line: object) => void): string {
  const rows = cells(figures);
  const present = SYSTEMS.filter((s) => [...rows.values()].some((r) => r.has(s)));
  const paired = present.includes('lovage') && present.includes('bullmq');
  const lines: string[] = [
    `| figure | unit | ${present.join(' | ')} |${paired ? ' lovage/bullmq |' : ''}`,
    `|---|---|${present.map(() => '---|').join('')}${paired ? '---|' : ''}`,
  ];
  for (const [figure, row] of rows) {
    for (const [system, c] of row) {
      out({
        system,
        figure,
        stat: 'median',
        value: c.median,
        min: c.min,
        max: c.max,
        reps: c.reps,
        unit: c.unit,
      });
    }
    const l = row.get('lovage');
    const b = row.get('bullmq');
    const ratio = l && b ? pairedRatio(l, b) : null;
    if (ratio !== null) out({ system: 'lovage/bullmq', figure, stat: 'paired_ratio', value: ratio });
    const unit = [...row.values()][0]!.unit;
    const ratioCell = paired ? ` ${ratio === null ? '' : `${ratio.toFixed(2)}×`} |` : '';
    lines.push(`| ${figure} | ${unit} | ${present.map((s) => show(row.get(s))).join(' | ')} |${ratioCell}`);
  }
  // Events on / off, Lovage on Redis: each drain with -E against the same drain without it.
  const events: string[] = [];
  for (const [figure, row] of rows) {
    if (!figure.includes('_events_on_') || figure.endsWith('_startup')) continue;
    const on = row.get('lovage');
    const off = rows.get(figure.replace('_events_on_', '_events_off_'))?.get('lovage');
    const ratio = on && off ? pairedRatio(on, off) : null;
    if (ratio === null) continue;
    const name = figure.replace('_events_on', '');
    out({ system: 'lovage', figure: `${name}_events_on_off_ratio`, stat: 'paired_ratio', value: ratio });
    events.push(`| ${name} | ${ratio.toFixed(2)}× |`);
  }
  if (events.length)
    lines.push('', '| Lovage drain, events on ÷ off (goal ≥ 0.8) | ratio |', '|---|---|', ...events);
  return lines.join('\n');
}
