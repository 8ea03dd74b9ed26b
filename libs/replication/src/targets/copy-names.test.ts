import { describe, expect, it } from 'vitest';
import { generateKeyText, parseReplicaKey } from '@tapo/replica-crypto';
import { copyName, liveChunkName, parseCopyName, sealContext } from './copy-names.js';

const file = 'cat-cam-20261202T101500Z.mp4';

describe('copy names', () => {
  it('plain: the recordings layout below the prefix, chunks beside it', () => {
    const n = { prefix: 'p/' };
    expect(copyName(n, 'cat-cam', file)).toBe('p/cat-cam/2026-12-02/cat-cam-20261202T101500Z.mp4');
    const c = liveChunkName(n, 'cat-cam', file, 0, 4096);
    expect(c).toBe('p/cat-cam/2026-12-02/cat-cam-20261202T101500Z.mp4.live/000000000000-000000004096');
    expect(parseCopyName(n, c)).toMatchObject({ cameraId: 'cat-cam', fileName: file, kind: 'chunk', offset: 0, end: 4096, encrypted: false });
    expect(parseCopyName(n, copyName(n, 'cat-cam', file))).toMatchObject({ cameraId: 'cat-cam', kind: 'whole', startMs: Date.UTC(2026, 11, 2, 10, 15) });
    expect(parseCopyName(n, 'p/other/stuff.txt')).toBeUndefined();
    expect(parseCopyName(n, 'q/cat-cam/2026-12-02/' + file)).toBeUndefined();
    expect(() => copyName(n, 'dog', file)).toThrow(/not a segment name/);
  });

  it('encrypted with hidden names: no camera id in any name, mapped back with the camera list', () => {
    const key = parseReplicaKey(generateKeyText());
    const n = { prefix: 'p/', key, hideNames: true };
    const whole = copyName(n, 'cat-cam', file);
    expect(whole).not.toContain('cat-cam');
    expect(whole.endsWith('.mp4.tenc')).toBe(true);
    expect(parseCopyName(n, whole, ['dog', 'cat-cam'])).toMatchObject({ cameraId: 'cat-cam', fileName: file, encrypted: true, kind: 'whole' });
    expect(parseCopyName(n, whole)).toMatchObject({ cameraId: undefined, nameCamera: key.cameraAlias('cat-cam') });
    const chunk = liveChunkName(n, 'cat-cam', file, 10, 20);
    expect(parseCopyName(n, chunk, ['cat-cam'])).toMatchObject({ kind: 'chunk', offset: 10, end: 20, fileName: file });
    // a plain copy is not taken for an encrypted one and vice versa
    expect(parseCopyName(n, copyName({ prefix: 'p/' }, 'cat-cam', file), ['cat-cam'])).toBeUndefined();
    expect(parseCopyName({ prefix: 'p/' }, whole)).toBeUndefined();
    expect(sealContext('cat-cam', file)).not.toBe(sealContext('cat-cam', file, 0));
  });
});
