import { describe, expect, it } from 'vitest';
import { StallDetector } from './stall-detector.js';

describe('StallDetector', () => {
  it('is healthy while progress advances, and wants no CPU samples then', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    for (let t = 500; t <= 60_000; t += 500) {
      d.advanced(t);
      expect(d.wantsCpu(t + 400)).toBe(false);
      expect(d.check(t + 400)).toBeUndefined();
    }
    expect(d.wantsCpu(61_000)).toBe(true);
  });
  it('stalls when progress stops for the window', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    d.advanced(5_000);
    expect(d.check(15_000)).toBeUndefined();
    expect(d.check(15_001)).toBe('no progress for 10s');
  });
  it('finds a silent camera sooner when progress stopped and the CPU is idle since', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    for (let t = 0; t <= 10_000; t += 500) d.advanced(t);
    d.cpu(2_000, 11_000, 1.1); // first sample after the pause covers old, busy time: ignored
    d.cpu(11_000, 12_000, 0);
    expect(d.check(14_000)).toBeUndefined(); // one idle sample after the last frame so far
    d.cpu(12_000, 13_000, 0);
    expect(d.check(14_500)).toBeUndefined(); // only 4.5 s without progress
    expect(d.check(15_200)).toBe('no progress for 5.2s and CPU idle');
  });
  it('a quiet but busy ffmpeg (CPU above idle) waits for the full window', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    d.advanced(1000);
    for (let t = 2000; t <= 11_000; t += 1000) d.cpu(t - 1000, t, 0.5);
    expect(d.check(10_900)).toBeUndefined();
    expect(d.check(11_001)).toBe('no progress for 10s');
  });
  it('samples from before the last frame do not count', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    d.advanced(1000);
    d.cpu(2000, 3000, 0);
    d.cpu(3000, 4000, 0);
    d.advanced(4500);
    expect(d.check(10_000)).toBeUndefined();
  });
  it('says when no video ever came', () => {
    const d = new StallDetector(10_000, 0.1, 1_000);
    expect(d.check(11_000)).toBeUndefined();
    expect(d.check(11_001)).toBe('no video within 10s of starting');
    expect(d.wantsCpu(11_001)).toBe(false);
  });
});
