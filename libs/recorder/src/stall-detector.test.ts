import { describe, expect, it } from 'vitest';
import { StallDetector } from './stall-detector.js';

describe('StallDetector', () => {
  it('is healthy while progress advances', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    for (let t = 500; t <= 60_000; t += 500) {
      d.advanced(t);
      d.cpu(t, 1.2);
      expect(d.check(t)).toBeUndefined();
    }
  });
  it('stalls when progress stops for the window', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    d.advanced(5_000);
    expect(d.check(15_000)).toBeUndefined();
    expect(d.check(15_001)).toBe('no progress for 10s');
  });
  it('finds a silent camera sooner when progress stopped and the CPU is idle since', () => {
    const d = new StallDetector(10_000, 0.1, 0, 2000);
    for (let t = 0; t <= 10_000; t += 500) d.advanced(t);
    d.cpu(10_000, 1.1); // measured over 8-10 s: still busy
    d.cpu(12_000, 0); // 10-12 s: blocked
    expect(d.check(14_000)).toBeUndefined(); // one idle sample so far
    d.cpu(14_000, 0);
    expect(d.check(14_500)).toBeUndefined(); // only 4.5 s without progress
    expect(d.check(15_200)).toBe('no progress for 5.2s and CPU idle');
  });
  it('a quiet but busy ffmpeg (CPU above idle) waits for the full window', () => {
    const d = new StallDetector(10_000, 0.1, 0, 2000);
    d.advanced(1000);
    for (let t = 3000; t <= 11_000; t += 2000) d.cpu(t, 0.5);
    expect(d.check(10_900)).toBeUndefined();
    expect(d.check(11_001)).toBe('no progress for 10s');
  });
  it('says when no video ever came', () => {
    const d = new StallDetector(10_000, 0.1, 1_000);
    expect(d.check(11_000)).toBeUndefined();
    expect(d.check(11_001)).toBe('no video within 10s of starting');
    expect(d.wantsCpu).toBe(false);
  });
  it('stalls when CPU stays near zero over the window even if progress trickles', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    for (let t = 0; t <= 8_000; t += 2_000) {
      d.advanced(t);
      d.cpu(t, 0);
    }
    expect(d.check(8_000)).toBe('CPU below 0.1% for 10s');
  });
  it('one busy sample in the window keeps it alive', () => {
    const d = new StallDetector(10_000, 0.1, 0);
    for (let t = 0; t <= 8_000; t += 2_000) {
      d.advanced(t);
      d.cpu(t, t === 4_000 ? 0.5 : 0);
    }
    expect(d.check(8_000)).toBeUndefined();
  });
});
