import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dayFolderName,
  ensureDayFolders,
  ffmpegSegmentPattern,
  parseSegmentFileName,
  resolveInside,
  resolveListedSegment,
  segmentFileName,
  segmentPath,
} from './index.js';

describe('segment naming (UTC)', () => {
  const t = new Date(Date.UTC(2026, 10, 27, 3, 12, 5));
  it('names by the UTC start', () => {
    expect(segmentFileName('living-room', t)).toBe('living-room-20261127T031205Z.mp4');
    expect(dayFolderName(t)).toBe('2026-11-27');
    expect(segmentPath('/rec', 'living-room', t)).toBe('/rec/living-room/2026-11-27/living-room-20261127T031205Z.mp4');
    expect(segmentFileName('c', t, 'mov')).toBe('c-20261127T031205Z.mov');
  });
  it('the ffmpeg pattern matches the contract', () => {
    expect(ffmpegSegmentPattern('/rec', 'cam1')).toBe('/rec/cam1/%Y-%m-%d/cam1-%Y%m%dT%H%M%SZ.mp4');
    expect(ffmpegSegmentPattern('/rec/100%', 'cam1')).toBe('/rec/100%%/cam1/%Y-%m-%d/cam1-%Y%m%dT%H%M%SZ.mp4');
  });
  it('parses names back', () => {
    expect(parseSegmentFileName('living-room-20261127T031205Z.mp4')).toEqual({ cameraId: 'living-room', start: t, ext: 'mp4' });
    expect(parseSegmentFileName('x-20261127T031205.mp4')).toBeUndefined();
    expect(parseSegmentFileName('notes.txt')).toBeUndefined();
    expect(resolveListedSegment('/rec', 'cam-20261127T031205Z.mp4')).toBe('/rec/cam/2026-11-27/cam-20261127T031205Z.mp4');
  });
  it('creates today and tomorrow (UTC), across a month end', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'days-'));
    await ensureDayFolders(dir, 'cam', new Date(Date.UTC(2026, 11, 31, 23, 59, 30)));
    expect(readdirSync(path.join(dir, 'cam')).sort()).toEqual(['2026-12-31', '2027-01-01']);
  });
  it('keeps paths inside the root', () => {
    expect(resolveInside('/rec', 'cam/2026-11-27/a.mp4')).toBe('/rec/cam/2026-11-27/a.mp4');
    expect(resolveInside('/rec', '../etc/passwd')).toBeUndefined();
    expect(resolveInside('/rec', '/etc/passwd')).toBeUndefined();
    expect(resolveInside('/rec', 'cam/../../rec2/x')).toBeUndefined();
  });
});
