import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('grows exponentially, is capped, resets after a healthy run', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, factor: 2, healthyAfterMs: 30_000 });
    expect([0, 0, 0, 0, 0, 0, 0].map(() => b.next(0))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(b.next(60_000)).toBe(1000);
    expect(b.next(5_000)).toBe(2000);
  });
});
