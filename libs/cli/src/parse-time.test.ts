import { describe, expect, it } from 'vitest';
import { parseTime } from './cli.js';

describe('parseTime', () => {
  const now = Date.UTC(2026, 10, 27, 12, 0, 0);
  it('reads ISO and relative times', () => {
    expect(parseTime('2026-11-27T03:00:00Z', 0, now)).toBe(Date.UTC(2026, 10, 27, 3));
    expect(parseTime('-2h', 0, now)).toBe(now - 7_200_000);
    expect(parseTime('-30m', 0, now)).toBe(now - 1_800_000);
    expect(parseTime(undefined, 42, now)).toBe(42);
    expect(() => parseTime('yesterday', 0, now)).toThrow(/cannot read the time "yesterday"/);
  });
});
