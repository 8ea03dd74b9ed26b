import { describe, expect, it } from 'vitest';
import { videoArrivedAt } from './progress-timing.js';

const base = { now: 100_000, prevBlockAt: 99_000, final: false, stalled: false, statsPeriodMs: 1000 };

describe('videoArrivedAt', () => {
  it('a block one period after the previous one: video now', () => {
    expect(videoArrivedAt(base)).toBe(100_000);
  });
  it("the run's first block with frames: now", () => {
    expect(videoArrivedAt({ ...base, prevBlockAt: undefined })).toBe(100_000);
  });
  it('a late block (ffmpeg flushing at exit after a silence): as of one period after the previous block', () => {
    // Seen on the simulated camera: frame=58 at 4.33 s, camera frozen at 5.0 s, frame=70 at 16.14 s when ffmpeg gave up.
    expect(videoArrivedAt({ ...base, prevBlockAt: 4330, now: 16_140 })).toBe(5330);
  });
  it('a slightly late block (a busy machine) still counts as now', () => {
    expect(videoArrivedAt({ ...base, prevBlockAt: 97_600 })).toBe(100_000);
  });
  it('the final block and blocks after the watchdog gave up are not live video', () => {
    expect(videoArrivedAt({ ...base, final: true })).toBeUndefined();
    expect(videoArrivedAt({ ...base, stalled: true })).toBeUndefined();
  });
});
