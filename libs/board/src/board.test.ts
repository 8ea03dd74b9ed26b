import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SegmentRecord } from '@tapo/segment-index';
import { buildSpans } from './pages.js';
import { resolveRealInside, suspiciousRawPath, validSegmentParts, validSegmentRel } from './paths.js';

const seg = (startS: number, durS: number, file = `f${startS}`): SegmentRecord => ({
  cameraId: 'c',
  file,
  startMs: startS * 1000,
  durationMs: durS * 1000,
  bytes: 1,
  status: 'ok',
  host: 'h',
});

describe('timeline spans', () => {
  it('merges segments whose gap is under 2 s, splits at longer gaps', () => {
    const spans = buildSpans([seg(0, 4), seg(4, 4), seg(9.9, 4), seg(20, 4), seg(18, 4)]);
    expect(spans.map((s) => [s.startMs, s.endMs, s.files.length])).toEqual([
      [0, 13_900, 3],
      [18_000, 24_000, 2],
    ]);
  });
  it('is empty without segments', () => expect(buildSpans([])).toEqual([]));
});

describe('request paths', () => {
  it('flags encoded dots, slashes, backslashes and NUL in the raw path only', () => {
    for (const p of ['/api/segments/cam1/..%2f..%2fetc/passwd', '/a/%2E%2E/b', '/a/%5c/b', '/a/%00', '/a/..\\b', '/a/../b', '/a/%252e']) {
      expect(suspiciousRawPath(p), p).toBe(true);
    }
    expect(suspiciousRawPath('/api/segments/cam1/2026-11-27/cam1-20261127T071746Z.mp4?download=1')).toBe(false);
    expect(suspiciousRawPath('/play?camera=cam1&file=cam1%2F2026-11-27%2Fx.mp4')).toBe(false);
  });
  it('accepts only <camera>/<day>/<camera>-<stamp>Z.<ext> with matching camera and day', () => {
    expect(validSegmentParts('cam1', '2026-11-27', 'cam1-20261127T071746Z.mp4')).toBe('cam1/2026-11-27/cam1-20261127T071746Z.mp4');
    expect(validSegmentParts('cam1', '2026-11-27', 'cam1-20261127T071746Z.mov')).toBeDefined();
    expect(validSegmentParts('cam1', '2026-11-28', 'cam1-20261127T071746Z.mp4')).toBeUndefined();
    expect(validSegmentParts('cam2', '2026-11-27', 'cam1-20261127T071746Z.mp4')).toBeUndefined();
    expect(validSegmentParts('..', '2026-11-27', 'cam1-20261127T071746Z.mp4')).toBeUndefined();
    expect(validSegmentParts('cam1', '../../etc', 'passwd')).toBeUndefined();
    expect(validSegmentRel('cam1/2026-11-27/cam1-20261127T071746Z.mp4')).toBeDefined();
    expect(validSegmentRel('/etc/passwd')).toBeUndefined();
    expect(validSegmentRel('cam1/2026-11-27/../../x')).toBeUndefined();
    expect(validSegmentRel('cam1\\2026-11-27\\cam1-20261127T071746Z.mp4')).toBeUndefined();
  });
});

describe('resolveRealInside', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'board-paths-'));
  const root = path.join(dir, 'rec');
  mkdirSync(path.join(root, 'cam1', '2026-11-27'), { recursive: true });
  mkdirSync(path.join(dir, 'out'));
  writeFileSync(path.join(dir, 'out', 'secret'), 'x');
  writeFileSync(path.join(root, 'cam1', '2026-11-27', 'ok.mp4'), 'x');
  symlinkSync(path.join(dir, 'out', 'secret'), path.join(root, 'cam1', '2026-11-27', 'link.mp4'));
  symlinkSync(path.join(dir, 'out'), path.join(root, 'cam1', 'linkdir'));
  symlinkSync(path.join(root, 'cam1', '2026-11-27', 'ok.mp4'), path.join(root, 'cam1', '2026-11-27', 'inner.mp4'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves files inside, follows symlinks that stay inside', async () => {
    expect((await resolveRealInside(root, 'cam1/2026-11-27/ok.mp4'))?.rel).toBe('cam1/2026-11-27/ok.mp4');
    expect((await resolveRealInside(root, 'cam1/2026-11-27/inner.mp4'))?.rel).toBe('cam1/2026-11-27/ok.mp4');
  });
  it('rejects escapes: .., absolute, symlinks (file or folder) pointing outside, missing files', async () => {
    for (const rel of ['../out/secret', '/etc/passwd', path.join(dir, 'out', 'secret'), 'cam1/2026-11-27/link.mp4', 'cam1/linkdir/secret', 'cam1/nope.mp4', 'cam1\\..\\..\\out\\secret', 'cam1/\0']) {
      expect(await resolveRealInside(root, rel), rel).toBeUndefined();
    }
  });
});
