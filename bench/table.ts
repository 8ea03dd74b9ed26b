// One row per measure, one markdown table for the whole run. Rows are plain
// data (stored as is in the results JSON).
import { median } from './procstat.js';

export interface Row {
  measure: string;
  /** As printed, e.g. "≤ 10 s"; checked against `limit` when given. */
  target: string;
  limit?: { max?: number; min?: number; absMax?: number };
  /** Per-run values (raw numbers; the table shows median and max). */
  values: number[];
  median: number | null;
  max: number | null;
  unit: string;
  digits: number;
  /** Runs column; defaults to the number of values. */
  runs: string;
  /** "baseline / ratio" column. */
  baseline: string;
  how: string;
  /** Why there is no value (step skipped, test failed, ...). */
  note?: string;
}

export interface RowInput {
  target?: string;
  limit?: Row['limit'];
  unit?: string;
  digits?: number;
  runs?: string;
  baseline?: string;
  how: string;
  note?: string;
}

export function row(measure: string, values: Array<number | null | undefined>, o: RowInput): Row {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return {
    measure,
    target: o.target ?? '—',
    ...(o.limit ? { limit: o.limit } : {}),
    values: v,
    median: v.length ? median(v) : null,
    max: v.length ? Math.max(...v) : null,
    unit: o.unit ?? '',
    digits: o.digits ?? 2,
    runs: o.runs ?? String(v.length),
    baseline: o.baseline ?? '—',
    how: o.how,
    ...(o.note ? { note: o.note } : {}),
  };
}

export function meets(r: Pick<Row, 'limit'>, x: number): boolean {
  const l = r.limit;
  if (!l) return true;
  if (l.max !== undefined && x > l.max) return false;
  if (l.min !== undefined && x < l.min) return false;
  if (l.absMax !== undefined && Math.abs(x) > l.absMax) return false;
  return true;
}

export function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}

/** "×12" style ratio, or a dash when it means nothing. */
export function ratioText(baseline: number | null | undefined, ours: number | null | undefined, digits = 1): string {
  if (baseline === null || baseline === undefined || ours === null || ours === undefined) return '—';
  if (ours <= 0) return 'n/a (ours is 0)';
  return `×${(baseline / ours).toFixed(digits)}`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderTable(rows: Row[]): string {
  const out = ['| measure | target | median | max | runs | baseline / ratio | how |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const show = (x: number | null) => {
      if (x === null) return '—';
      const s = `${fmt(x, r.digits)}${r.unit ? ` ${r.unit}` : ''}`;
      return meets(r, x) ? s : `${s} **miss**`;
    };
    const med = r.median === null ? (r.note ? `— (${r.note})` : '—') : show(r.median);
    out.push(`| ${[r.measure, r.target, med, show(r.max), r.runs, r.baseline, r.how].map(cell).join(' | ')} |`);
  }
  return out.join('\n');
}
