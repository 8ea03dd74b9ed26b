import { describe, expect, it } from 'vitest';
import { TargetHealth, downBackoffMs, type TargetState } from './target-health.js';

describe('target health', () => {
  it('backs off 1 s doubling to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => downBackoffMs(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(downBackoffMs(0)).toBe(1000);
    expect(downBackoffMs(3, { minMs: 100, maxMs: 250 })).toBe(250);
  });

  it('reports only up/down transitions, with downSince and the last error', () => {
    const seen: Array<[string, TargetState]> = [];
    const h = new TargetHealth((id, s) => seen.push([id, s]));
    expect(h.get('a')).toEqual({ up: true });
    expect(h.success('a', 5)).toBe(false);
    expect(seen).toEqual([]);
    expect(h.down('a', 'refused', 10)).toBe(1000);
    expect(h.down('a', 'timeout', 11)).toBe(2000);
    expect(h.get('a')).toEqual({ up: false, downSince: 10, lastError: 'timeout', lastSuccessMs: 5 });
    expect(seen).toEqual([['a', { up: false, downSince: 10, lastError: 'refused', lastSuccessMs: 5 }]]);
    expect(h.success('a', 20)).toBe(true);
    expect(seen[1]).toEqual(['a', { up: true, lastError: 'timeout', lastSuccessMs: 20 }]);
    expect(h.down('a', 'again', 30)).toBe(1000); // the backoff restarts
    expect(Object.keys(h.all())).toEqual(['a']);
    h.forget('a');
    expect(h.all()).toEqual({});
  });
});
