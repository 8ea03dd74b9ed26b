const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses "90", "90s", "15m", "12h", "7d", "2w" into seconds. */
export function parseDurationSeconds(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid duration ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(value);
  if (!m) throw new Error(`invalid duration "${value}" (use e.g. 90s, 15m, 12h, 7d)`);
  return Number(m[1]) * (UNITS[(m[2] || 's').toLowerCase()] ?? 1);
}
