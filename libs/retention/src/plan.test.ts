import { describe, expect, it } from 'vitest';
import { planPrune, type PruneCandidate } from './plan.js';

const MIN = 60_000;
const now = Date.UTC(2026, 10, 27, 12, 0, 0);
function segs(cameraId: string, n: number, bytes = 100, lenMs = MIN): PruneCandidate[] {
  // n segments ending at `now`, oldest first.
  return Array.from({ length: n }, (_, i) => ({
    cameraId,
    file: `${cameraId}/2026-11-27/${cameraId}-${i}.mp4`,
    startMs: now - (n - i) * lenMs,
    durationMs: lenMs,
    bytes,
  }));
}

describe('planPrune', () => {
  it('deletes segments whose end is older than maxAge, oldest first', () => {
    const plan = planPrune({ now, cameras: [{ cameraId: 'a', limits: { maxAgeSeconds: 10 * 60 }, segments: segs('a', 30) }] });
    // 30 one-minute segments ending now: those ending more than 10 min ago go (the one ending exactly then stays).
    expect(plan.delete.map((d) => d.reason)).toEqual(Array(19).fill('age'));
    expect(plan.delete[0]!.file).toBe('a/2026-11-27/a-0.mp4');
    expect(plan.cameras[0]).toMatchObject({ deleted: 19, keptCount: 11, oldestKeptMs: now - 11 * MIN });
  });

  it('holds maxSize per camera', () => {
    const plan = planPrune({
      now,
      cameras: [
        { cameraId: 'a', limits: { maxBytes: 1000 }, segments: segs('a', 30) },
        { cameraId: 'b', limits: { maxBytes: 5000 }, segments: segs('b', 30) },
      ],
    });
    expect(plan.cameras).toEqual([
      expect.objectContaining({ cameraId: 'a', deleted: 20, keptBytes: 1000 }),
      expect.objectContaining({ cameraId: 'b', deleted: 0, keptBytes: 3000 }),
    ]);
  });

  it('holds the free-disk floor across cameras, globally oldest first', () => {
    const a = segs('a', 10, 100);
    const b = segs('b', 10, 100).map((s) => ({ ...s, startMs: s.startMs - 30_000 })); // b is a bit older
    const plan = planPrune({ now, cameras: [{ cameraId: 'a', limits: {}, segments: a }, { cameraId: 'b', limits: {}, segments: b }], disk: { totalBytes: 10_000, freeBytes: 100 }, minFreeBytes: 500 });
    expect(plan.delete.map((d) => `${d.cameraId}:${d.reason}`)).toEqual(['b:disk', 'a:disk', 'b:disk', 'a:disk']);
    expect(plan.freeBytesAfter).toBe(500);
    expect(plan.floorUnreachable).toBeUndefined();
  });

  it('counts what age and size free toward the floor, and says when it cannot be reached', () => {
    const plan = planPrune({ now, cameras: [{ cameraId: 'a', limits: { maxAgeSeconds: 300 }, segments: segs('a', 10, 100) }], disk: { totalBytes: 10_000, freeBytes: 0 }, minFreeBytes: 600 });
    expect(plan.delete.filter((d) => d.reason === 'age')).toHaveLength(4);
    expect(plan.delete.filter((d) => d.reason === 'disk')).toHaveLength(2);
    const impossible = planPrune({ now, cameras: [{ cameraId: 'a', limits: {}, segments: segs('a', 2, 100) }], disk: { totalBytes: 10_000, freeBytes: 0 }, minFreeBytes: 5000 });
    expect(impossible.delete).toHaveLength(2);
    expect(impossible.floorUnreachable).toBe(true);
  });

  it('keeps everything when every limit holds', () => {
    const plan = planPrune({ now, cameras: [{ cameraId: 'a', limits: { maxAgeSeconds: 86400, maxBytes: 1e9 }, segments: segs('a', 10) }], disk: { totalBytes: 1e9, freeBytes: 5e8 }, minFreeBytes: 1e6 });
    expect(plan.delete).toEqual([]);
  });

  it('plans 100 000 segments quickly enough to be unremarkable', () => {
    const many = segs('a', 100_000, 1000, 1000);
    const t = performance.now();
    const plan = planPrune({ now, cameras: [{ cameraId: 'a', limits: { maxBytes: 50_000_000 }, segments: many }] });
    expect(plan.delete).toHaveLength(50_000);
    console.log(`[measure] planPrune over 100000 segments: ${(performance.now() - t).toFixed(0)} ms`);
  });
  it('plans from the oldest part of a camera when the totals are given', () => {
    const now = 10_000_000;
    const all = Array.from({ length: 100 }, (_, i) => ({ cameraId: 'c', file: `c/d/c-${i}.mp4`, startMs: i * 1000, durationMs: 1000, bytes: 10 }));
    const limits = { maxBytes: 900 };
    const whole = planPrune({ now, cameras: [{ cameraId: 'c', limits, segments: all }] });
    const part = planPrune({ now, cameras: [{ cameraId: 'c', limits, segments: all.slice(0, 20), totalCount: 100, totalBytes: 1000 }] });
    expect(part.delete.map((d) => d.file)).toEqual(whole.delete.map((d) => d.file));
    expect(part.delete).toHaveLength(10);
    expect(part.cameras[0]).toMatchObject({ deleted: 10, keptCount: 90, keptBytes: 900, oldestKeptMs: 10_000 });
  });
});
