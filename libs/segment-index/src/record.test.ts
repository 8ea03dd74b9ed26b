import { describe, expect, it } from 'vitest';
import { decodeInfo, encodeInfo } from './record.js';

describe('segment info encoding', () => {
  it('round-trips', () => {
    const info = encodeInfo({ durationMs: 60_000.4, bytes: 15_000_000, status: 'repaired', host: 'box|1' });
    expect(info).toBe('60000|15000000|repaired|box_1');
    expect(decodeInfo('cam', 'cam/2026-11-27/x.mp4', 5, info)).toEqual({
      cameraId: 'cam',
      file: 'cam/2026-11-27/x.mp4',
      startMs: 5,
      durationMs: 60000,
      bytes: 15000000,
      status: 'repaired',
      host: 'box_1',
    });
  });
  it('tolerates bad values', () => {
    expect(decodeInfo('c', 'f', 1, 'x|y|weird')).toMatchObject({ durationMs: 0, bytes: 0, status: 'pending', host: '' });
  });
});
