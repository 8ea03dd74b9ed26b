import { describe, expect, it } from 'vitest';
import { matchBearer, receiveTarget, suspiciousRawPath } from './receive-auth.js';

const tokens = [
  { id: 'a', token: 'aaaaaaaaaaaaaaaaaaaa', cameraPrefix: 'a-' },
  { id: 'b', token: 'bbbbbbbbbbbbbbbbbbbb', cameraPrefix: '' },
];

describe('receive auth and paths', () => {
  it('matches a bearer token exactly', () => {
    expect(matchBearer('Bearer aaaaaaaaaaaaaaaaaaaa', tokens)?.id).toBe('a');
    expect(matchBearer('bearer bbbbbbbbbbbbbbbbbbbb', tokens)?.id).toBe('b');
    for (const h of [undefined, '', 'Bearer', 'Bearer aaaaaaaaaaaaaaaaaaa', 'Bearer aaaaaaaaaaaaaaaaaaaaa', 'Basic aaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaa', 'Bearer a b']) {
      expect(matchBearer(h, tokens), String(h)).toBeUndefined();
    }
    expect(matchBearer('Bearer aaaaaaaaaaaaaaaaaaaa', [])).toBeUndefined();
  });

  it('flags encoded and literal traversal in the raw path', () => {
    expect(suspiciousRawPath('/api/replica/segments/cam1/cam1-20261127T031205Z.mp4')).toBe(false);
    for (const p of ['/x/..%2f/y', '/x/%2E%2E/y', '/x/a%5cb', '/x/a%00', '/x/%252e', '/x/a\\b', '/x/../y', '/x/./y']) expect(suspiciousRawPath(p), p).toBe(true);
  });

  it('builds the stored path from the parsed name only', () => {
    const t = receiveTarget('/rec', 'house-', 'cam1', 'cam1-20261127T031205Z.mp4');
    expect(t).toEqual({
      cameraId: 'house-cam1',
      fileName: 'house-cam1-20261127T031205Z.mp4',
      rel: 'house-cam1/2026-11-27/house-cam1-20261127T031205Z.mp4',
      abs: '/rec/house-cam1/2026-11-27/house-cam1-20261127T031205Z.mp4',
      startMs: Date.UTC(2026, 10, 27, 3, 12, 5),
      ext: 'mp4',
    });
    expect(receiveTarget('/rec', '', 'cam1', 'cam1-20261127T031205Z.mov')).toMatchObject({ rel: 'cam1/2026-11-27/cam1-20261127T031205Z.mov' });
    const bad: Array<[unknown, unknown]> = [
      ['..', 'cam1-20261127T031205Z.mp4'],
      ['cam1', '../cam1-20261127T031205Z.mp4'],
      ['cam1', 'cam2-20261127T031205Z.mp4'],
      ['cam1', 'cam1-20261127T031205Z.mp4\0'],
      ['cam1', '/etc/cam1-20261127T031205Z.mp4'],
      ['cam1', 'cam1-20261127T031205Z.txt'],
      ['Cam1', 'Cam1-20261127T031205Z.mp4'],
      [undefined, 'cam1-20261127T031205Z.mp4'],
      ['cam1', ['cam1-20261127T031205Z.mp4']],
    ];
    for (const [c, f] of bad) expect(receiveTarget('/rec', 'house-', c, f), `${String(c)} ${String(f)}`).toHaveProperty('error');
    const long = 'c'.repeat(60);
    expect(receiveTarget('/rec', 'house-', long, `${long}-20261127T031205Z.mp4`)).toHaveProperty('error');
  });
});
