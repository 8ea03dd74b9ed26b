import { describe, expect, it } from 'vitest';
import { directoryTargetPath, planDirectoryPrune, type TargetSegment } from './directory.js';

const H = 3_600_000;
const seg = (cameraId: string, startMs: number, bytes: number): TargetSegment => ({ cameraId, file: `${cameraId}/${startMs}`, path: `/nas/${cameraId}/${startMs}`, startMs, durationMs: 0, bytes });

describe('directory target', () => {
  it('places copies by the naming contract, inside the target', () => {
    expect(directoryTargetPath('/mnt/nas', 'cam1', 'cam1-20261127T031205Z.mp4')).toBe('/mnt/nas/cam1/2026-11-27/cam1-20261127T031205Z.mp4');
    expect(() => directoryTargetPath('/mnt/nas', 'cam1', 'cam2-20261127T031205Z.mp4')).toThrow();
    expect(() => directoryTargetPath('/mnt/nas', '..', '..-20261127T031205Z.mp4')).toThrow();
  });

  it('plans the ring buffer over all cameras together, oldest first', () => {
    const now = 100 * H;
    const segs = [seg('a', now - 50 * H, 10), seg('b', now - 30 * H, 10), seg('a', now - 3 * H, 10), seg('b', now - H, 10)];
    expect(planDirectoryPrune({ retention: {} }, segs, now)).toEqual([]);
    expect(planDirectoryPrune({ retention: { maxAgeSeconds: 24 * 3600 } }, segs, now).map((s) => s.file)).toEqual([segs[0]!.file, segs[1]!.file]);
    expect(planDirectoryPrune({ retention: { maxBytes: 25 } }, segs, now).map((s) => s.file)).toEqual([segs[0]!.file, segs[1]!.file]);
    expect(planDirectoryPrune({ retention: { maxBytes: 25, maxAgeSeconds: 40 * 3600 } }, segs, now)).toHaveLength(2);
    expect(planDirectoryPrune({ retention: { maxBytes: 5 } }, segs, now)[0]!.path).toBe(segs[0]!.path);
  });
});
