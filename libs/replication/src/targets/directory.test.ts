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

describe('directory target, encrypted', async () => {
  const { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, statSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { generateKeyText, openBuffer, parseReplicaKey, sealBuffer, sealedSize } = await import('@tapo/replica-crypto');
  const { ReplicationRejectedError } = await import('../errors.js');
  const { replicaSegment } = await import('./target.js');
  const { copyToDirectoryTarget, directoryNaming, directoryTargetHas, pruneDirectoryTarget, directoryTargetType } = await import('./directory.js');
  const { sealContext } = await import('./copy-names.js');
  type DirectoryReplica = import('@tapo/config').DirectoryReplica;

  const key = parseReplicaKey(generateKeyText());
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dir-enc-'));
  const rec = path.join(tmp, 'rec');
  const nas = path.join(tmp, 'nas');
  mkdirSync(nas);
  const target = (hideNames: boolean, extra: Partial<DirectoryReplica> = {}): DirectoryReplica => ({
    id: 'nas',
    type: 'directory',
    path: nas,
    retention: {},
    alertAfterSeconds: 600,
    encryption: { key, hideNames },
    ...extra,
  });
  /** A fake segment: mp4 box names and the camera id in it, 200 KiB (several records). */
  const content = (n: number) => Buffer.concat([Buffer.from('\0\0\0\x18ftypisom'), Buffer.alloc(200 * 1024, n), Buffer.from('moofmdat cam1 ')]);
  const segment = (cameraId: string, stamp: string, body: Buffer) => {
    const fileName = `${cameraId}-${stamp}Z.mp4`;
    const absPath = path.join(rec, fileName);
    mkdirSync(rec, { recursive: true });
    writeFileSync(absPath, body);
    const y = stamp.slice(0, 4), m = stamp.slice(4, 6), d = stamp.slice(6, 8);
    return replicaSegment({ absPath, cameraId, fileName, startMs: Date.parse(`${y}-${m}-${d}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`), durationMs: 2000 });
  };
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));

  it('seals the copy under its encrypted name; has / put again are "already"; no plaintext on the target', async () => {
    for (const hideNames of [false, true]) {
      const t = target(hideNames);
      const body = content(hideNames ? 2 : 1);
      const seg = segment('cam1', hideNames ? '20261127T031205' : '20261127T031105', body);
      expect(await directoryTargetHas(t, seg)).toBe(false);
      const r = await copyToDirectoryTarget(t, seg);
      expect(r.outcome).toBe('copied');
      const cam = hideNames ? key.cameraAlias('cam1') : 'cam1';
      expect(r.to).toBe(path.join(nas, cam, '2026-11-27', `${cam}-${seg.fileName.slice(5)}.tenc`));
      expect(r.bytes).toBe(body.length);
      const sealed = readFileSync(r.to);
      expect(sealed.length).toBe(sealedSize(body.length));
      for (const marker of ['ftyp', 'moof', 'mdat', 'cam1']) expect(sealed.includes(Buffer.from(marker)), marker).toBe(false);
      expect(openBuffer(key, sealContext('cam1', seg.fileName), sealed).equals(body)).toBe(true);
      const again = segment('cam1', seg.fileName.slice(5, 20), body);
      expect(await directoryTargetHas(t, again)).toBe(true);
      expect((await copyToDirectoryTarget(t, again)).outcome).toBe('already');
      expect(directoryTargetType.secrets(t)).toEqual([]); // a key not read from a config has no text to redact
    }
    const hidden = walk(nas).filter((p) => p.includes(key.cameraAlias('cam1')));
    expect(hidden).toHaveLength(1);
    expect(hidden[0]!.slice(nas.length)).not.toContain('cam1');
    expect(walk(nas).every((p) => !path.basename(p).includes('.partial-'))).toBe(true);
  });

  it('a different copy, one under another key, or an altered one is refused and not overwritten', async () => {
    const t = target(false);
    const seg = segment('cam1', '20261127T041205', content(3));
    const dest = path.join(nas, ...directoryNaming(t).prefix.split('/').filter(Boolean), 'cam1', '2026-11-27', `${seg.fileName}.tenc`);
    mkdirSync(path.dirname(dest), { recursive: true });
    const ctx = sealContext('cam1', seg.fileName);
    const cases: [Buffer, RegExp][] = [
      [sealBuffer(key, ctx, content(4)), /decrypts to another file/],
      [sealBuffer(parseReplicaKey(generateKeyText()), ctx, content(3)), /encrypted with another key/],
      [(() => { const b = sealBuffer(key, ctx, content(3)); b[b.length - 100]! ^= 1; return b; })(), /altered|does not authenticate/],
      [Buffer.from('plain'), /bytes there/],
    ];
    for (const [there, why] of cases) {
      writeFileSync(dest, there);
      const err = await directoryTargetHas(t, seg).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicationRejectedError);
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message.split('\n')).toHaveLength(1);
      await expect(copyToDirectoryTarget(t, seg)).rejects.toBeInstanceOf(ReplicationRejectedError);
      expect(readFileSync(dest).equals(there)).toBe(true);
    }
    rmSync(dest);
  });

  it('prunes only the copies of its naming (plain ones and other files are untouched)', async () => {
    const t = target(false, { retention: { maxAgeSeconds: 3600 } });
    const seg = segment('cam2', '20200101T000000', content(5));
    const copy = (await copyToDirectoryTarget(t, seg)).to;
    const plain = path.join(nas, 'cam2', '2020-01-01', seg.fileName);
    writeFileSync(plain, 'a plain copy of before');
    const sealedBefore = walk(nas).filter((p) => p.endsWith('.tenc'));
    expect(sealedBefore.length).toBe(3); // this one and the two of the first test (hidden names too)
    const s = await pruneDirectoryTarget(t, { now: Date.parse('2030-01-01T00:00:00Z') });
    expect(s).toMatchObject({ deleted: 3, errors: [] });
    expect(() => statSync(copy)).toThrow();
    expect(walk(nas).filter((p) => p.endsWith('.tenc'))).toEqual([]);
    expect(readFileSync(plain, 'utf8')).toBe('a plain copy of before');
    rmSync(tmp, { recursive: true, force: true });
  });
});
