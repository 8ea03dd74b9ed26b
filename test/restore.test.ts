// `recorder restore` and `recorder replicas` against s3rver (a local S3) and a directory replica:
// fixture copies put straight into the bucket / folder as the targets name them (plain, encrypted,
// hidden names, live chunks that overlap and end inside a fragment), restored, checked with
// ffprobe and a full decode; a tampered object, another key, an existing different file, objects
// outside the prefix, an http replica, bad input.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '@tapo/config';
import { decodesCleanly } from '@tapo/maintenance';
import { classifyMp4 } from '@tapo/mp4';
import { generateKeyText, parseReplicaKey, sealBuffer, type ReplicaKey } from '@tapo/replica-crypto';
import { closeS3Clients, createReplicaTarget, replicaSegment, s3LiveTarget } from '@tapo/replication';
import { dayFolderName, segmentFileName } from '@tapo/storage';
import { copyName, liveChunkName, sealContext, type CopyNaming } from '../libs/replication/src/targets/copy-names.js';
import { ROOT, tempDir } from './helpers/env.js';
import { ffprobe } from './helpers/ffprobe.js';
import { makeFragmented } from './helpers/media.js';

interface S3rverServer {
  run(): Promise<net.AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: { port: number; address: string; silent: boolean; directory: string; configureBuckets: { name: string }[] }) => S3rverServer;
// s3rver has no type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

const BUCKET = 'cams';
const MIN = 60_000;
/** s3rver checks the key id, not the v4 signature: a long random secret shows that it never reaches the output. */
const S3_SECRET = `s3-secret-${randomBytes(12).toString('hex')}`;
const KEY_TEXT = generateKeyText();
const OTHER_KEY_TEXT = generateKeyText();
const KEY = parseReplicaKey(KEY_TEXT);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('recorder restore / recorder replicas', () => {
  const tmp = tempDir('restore');
  const cfgFile = path.join(tmp.dir, 'cameras.yml');
  const dirReplica = path.join(tmp.dir, 'nas');
  const t0 = Date.UTC(2026, 10, 20, 10, 0, 0);
  const file = (cam: string, min: number) => segmentFileName(cam, new Date(t0 + min * MIN));
  const iso = (min: number) => new Date(t0 + min * MIN).toISOString();
  let server: S3rverServer;
  let direct: S3Client;
  let seg: Buffer;
  let env: Record<string, string>;

  const recorder = (...args: string[]) => execa(path.join(ROOT, 'node_modules', '.bin', 'recorder'), [...args, '--config', cfgFile], { reject: false, env, cwd: ROOT });
  const put = (key: string, body: Buffer, metadata: Record<string, string> = {}) => direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, Metadata: metadata }));
  /** A segment's live chunks, as a sender that restarted mid-segment leaves them: 0-a, then (again) 0-b and b-cut; cut inside a fragment. */
  const chunkRanges = (bytes: number): [number, number][] => {
    const cut = Math.floor(bytes * 0.8);
    const a = Math.floor(cut / 3);
    const b = Math.floor(cut / 2);
    return [
      [0, a],
      [0, b],
      [b, cut],
    ];
  };
  const putCopies = async (naming: CopyNaming, cam: string, wholeMins: number[], liveMin: number) => {
    const key = naming.key;
    for (const m of wholeMins) {
      const name = file(cam, m);
      await put(copyName(naming, cam, name), key ? sealBuffer(key, sealContext(cam, name), seg) : seg, key ? { 'key-id': key.id } : { sha256: sha256(seg) });
    }
    const live = file(cam, liveMin);
    for (const [from, to] of chunkRanges(seg.length)) {
      const bytes = seg.subarray(from, to);
      await put(liveChunkName(naming, cam, live, from, to), key ? sealBuffer(key, sealContext(cam, live, from), bytes) : bytes);
    }
  };
  const filesUnder = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(dir, path.join(d.parentPath, d.name))).sort() : [];
  const noSecrets = (text: string) => {
    for (const s of [S3_SECRET, KEY_TEXT, OTHER_KEY_TEXT, KEY_TEXT.slice(12), OTHER_KEY_TEXT.slice(12)]) expect(text).not.toContain(s);
  };

  beforeAll(async () => {
    const mp4 = path.join(tmp.dir, 'seg.mp4');
    await makeFragmented(mp4, 4);
    seg = readFileSync(mp4);
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.join(tmp.dir, 's3'), configureBuckets: [{ name: BUCKET }] });
    const port = (await server.run()).port;
    const endpoint = `http://127.0.0.1:${port}`;
    direct = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: S3_SECRET },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    env = { S3_SECRET, REPLICA_KEY: KEY_TEXT, OTHER_KEY: OTHER_KEY_TEXT };
    mkdirSync(dirReplica);
    const s3 = (id: string, prefix: string, extra = '') =>
      `  - { id: ${id}, type: s3, endpoint: "${endpoint}", bucket: ${BUCKET}, prefix: "${prefix}", accessKeyId: S3RVER, secretAccessKey: "\${S3_SECRET}"${extra} }\n`;
    writeFileSync(
      cfgFile,
      `recordingsDir: ${path.join(tmp.dir, 'rec')}\n` +
        `cameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1", segmentSeconds: 60 }\n  - { id: cam2, url: "rtsp://u:p@cam/2", segmentSeconds: 60 }\n` +
        `replicas:\n` +
        s3('plain', 'plain/') +
        s3('sealed', 'sealed/', ', encryption: { key: "${REPLICA_KEY}", hideNames: true }') +
        s3('named', 'named/', ', encryption: { key: "${REPLICA_KEY}" }') +
        s3('other-key', 'named/', ', encryption: { key: "${OTHER_KEY}" }') +
        s3('senders', 'senders/', ', encryption: { key: "${REPLICA_KEY}", hideNames: true }') +
        `  - { id: nas, type: directory, path: ${dirReplica}, encryption: { key: "\${REPLICA_KEY}" } }\n` +
        `  - { id: office, type: http, url: "https://office-box:3000", token: "0123456789abcdef0123" }\n`,
    );

    // plain: cam1 whole at 0, 1, 60 min, live at 2; cam2 whole at 0
    await putCopies({ prefix: 'plain/' }, 'cam1', [0, 1, 60], 2);
    await putCopies({ prefix: 'plain/' }, 'cam2', [0], 5);
    // outside the prefix / not our names: listed by neither command
    await put(`elsewhere/cam1/${dayFolderName(new Date(t0))}/${file('cam1', 0)}`, seg);
    await put(`plainx/cam1/${dayFolderName(new Date(t0))}/${file('cam1', 0)}`, seg);
    await put('plain/README.txt', Buffer.from('not a copy'));
    await put(`plain/cam1/${dayFolderName(new Date(t0))}/notes.mp4`, Buffer.from('not a copy'));
    // encrypted, hidden camera names: cam1 whole at 0, 1, live at 2
    await putCopies({ prefix: 'sealed/', key: KEY, hideNames: true }, 'cam1', [0, 1], 2);
    // encrypted, plain names: cam1 whole at 0; a tampered one at 10; a whole copy of 20 that was cut
    const named: CopyNaming = { prefix: 'named/', key: KEY };
    await putCopies(named, 'cam1', [0], 2);
    const tampered = sealBuffer(KEY, sealContext('cam1', file('cam1', 10)), seg);
    const at = tampered.length >> 1;
    tampered[at] = tampered[at]! ^ 0x40;
    await put(copyName(named, 'cam1', file('cam1', 10)), tampered);
    await put(copyName(named, 'cam1', file('cam1', 11)), sealBuffer(KEY, sealContext('cam1', file('cam1', 11)), seg));
    // directory replica, encrypted: cam1 whole at 0, live at 1 (chunks in <copy>.live/)
    const dirNaming: CopyNaming = { prefix: '', key: KEY };
    const write = (rel: string, body: Buffer) => {
      mkdirSync(path.dirname(path.join(dirReplica, rel)), { recursive: true });
      writeFileSync(path.join(dirReplica, rel), body);
    };
    write(copyName(dirNaming, 'cam1', file('cam1', 0)), sealBuffer(KEY, sealContext('cam1', file('cam1', 0)), seg));
    for (const [from, to] of chunkRanges(seg.length)) {
      write(liveChunkName(dirNaming, 'cam1', file('cam1', 1), from, to), sealBuffer(KEY, sealContext('cam1', file('cam1', 1), from), seg.subarray(from, to)));
    }
    write(`cam1/${dayFolderName(new Date(t0))}/${file('cam1', 3)}`, seg); // a plain file in an encrypting replica: not its name
    write(`cam1/${dayFolderName(new Date(t0))}/.${file('cam1', 4)}.tenc.partial-0123abcd`, seg); // a temp file
  }, 60_000);

  afterAll(async () => {
    direct?.destroy();
    closeS3Clients();
    await server?.close().catch(() => {});
    tmp.cleanup();
  });

  it('replicas: copies per target and camera, only below the prefix, hidden names mapped back, no secrets; --json', async () => {
    const r = await recorder('replicas');
    expect(r.exitCode, r.stderr).toBe(0);
    noSecrets(r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    const block = (id: string) => lines.slice(lines.findIndex((l) => l.startsWith(`${id}\t`)), lines.findIndex((l) => l.startsWith(`${id}\t`)) + 4).join('\n');
    expect(block('plain')).toMatch(/^plain\ts3\ts3:\/\/cams\/plain\/ \(http:\/\/127\.0\.0\.1:\d+\)\tencrypted: no/);
    expect(block('plain')).toMatch(/cam1\t3\t1\t[\d.]+ (MB|B)\t2026-11-20T10:00:00\.000Z\t2026-11-20T11:00:00\.000Z\tno/);
    expect(block('sealed')).toMatch(/encrypted: yes \(hidden names\)/);
    expect(block('sealed')).toMatch(/cam1\t2\t1\t.*\tyes/);
    expect(block('nas')).toMatch(/cam1\t1\t1\t.*\tyes/);
    expect(r.stdout).toMatch(/office\thttp\thttps:\/\/office-box:3000\tencrypted: no\n {2}listing not available over the replica protocol \(see the receiving board\)/);

    const j = await recorder('replicas', '--json');
    expect(j.exitCode, j.stderr).toBe(0);
    const reps = (JSON.parse(j.stdout) as { replicas: { id: string; cameras: { cameraId: string; whole: number; live: number; bytes: number; oldest: string; newest: string }[]; note?: string }[] }).replicas;
    const plain = reps.find((x) => x.id === 'plain')!;
    expect(plain.cameras.map((c) => [c.cameraId, c.whole, c.live])).toEqual([
      ['cam1', 3, 1],
      ['cam2', 1, 1],
    ]);
    // 3 whole copies + 3 chunks (of 0.8 of the segment, overlapping): nothing from elsewhere/, plainx/ or stray names
    const chunkBytes = chunkRanges(seg.length).reduce((n, [a, b]) => n + b - a, 0);
    expect(plain.cameras[0]!.bytes).toBe(3 * seg.length + chunkBytes);
    expect(reps.find((x) => x.id === 'office')!.note).toMatch(/listing not available/);
    const one = JSON.parse((await recorder('replicas', '--json', '--camera', 'cam2')).stdout) as { replicas: { id: string; cameras: { cameraId: string }[] }[] };
    expect(one.replicas.find((x) => x.id === 'plain')!.cameras.map((c) => c.cameraId)).toEqual(['cam2']);
    noSecrets(j.stdout);
  }, 60_000);

  it('restore from a plain bucket: whole copies and a joined live copy (cut fragment trimmed), each plays; --export joins the range', async () => {
    const out = path.join(tmp.dir, 'out-plain');
    const exported = path.join(tmp.dir, 'range.mp4');
    const r = await recorder('restore', '--from', 'plain', '--camera', 'cam1', '--from-time', iso(-0.5), '--to-time', iso(2.5), '--out', out, '--export', exported);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    noSecrets(r.stdout + r.stderr);
    expect(r.stderr).toBe('');
    const day = dayFolderName(new Date(t0));
    expect(filesUnder(out)).toEqual([0, 1, 2].map((m) => `cam1/${day}/${file('cam1', m)}`));
    expect(r.stdout).toMatch(new RegExp(`restored ${file('cam1', 0)} \\(whole, [\\d.]+ (MB|B)\\): fragmented-clean`));
    expect(r.stdout).toMatch(new RegExp(`restored ${file('cam1', 2)} \\(live, 3 chunk\\(s\\), [\\d.]+ (MB|B)\\): fragmented-partial, trim`));
    expect(r.stdout).toMatch(/restore: 3 restored \([\d.]+ (MB|B)\), 0 skipped \(already there\), 0 failed/);
    expect(r.stdout).toMatch(/exported 3 segment\(s\), [\d.]+ s, .* → .*range\.mp4/);
    // the whole copies are the recorded bytes; the live one plays up to its last complete fragment
    expect(sha256(readFileSync(path.join(out, 'cam1', day, file('cam1', 0))))).toBe(sha256(seg));
    const live = path.join(out, 'cam1', day, file('cam1', 2));
    expect((await classifyMp4(live)).kind).toBe('fragmented-clean');
    for (const f of [...filesUnder(out).map((x) => path.join(out, x)), exported]) {
      const p = await ffprobe(f);
      expect(p.ok, `${f}: ${p.error}`).toBe(true);
      expect(p.error ?? '', f).toBe('');
      const dec = await decodesCleanly(f);
      expect(dec.ok, `${f}: ${dec.detail}`).toBe(true);
    }
    const p = await ffprobe(exported);
    expect(p.videoSeconds).toBeGreaterThan(2 * 3.5 + 2);
    expect(existsSync(path.join(out, '.exports'))).toBe(false);

    // again: every file is already there, the same → skipped; --export to an existing file is refused up front
    const again = await recorder('restore', '--from', 'plain', '--camera', 'cam1', '--from-time', iso(-0.5), '--to-time', iso(2.5), '--out', out);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/restore: 0 restored \(0 B\), 3 skipped \(already there\), 0 failed/);
    const exists = await recorder('restore', '--from', 'plain', '--camera', 'cam1', '--from-time', iso(-0.5), '--to-time', iso(2.5), '--out', out, '--export', exported);
    expect(exists.exitCode).toBe(2);
    expect(exists.stderr.trim()).toMatch(/^recorder: --export .*range\.mp4 already exists \(it is not overwritten/);

    // a different file at a segment's place is never overwritten
    const other = path.join(out, 'cam1', day, file('cam1', 1));
    writeFileSync(other, 'mine');
    const clash = await recorder('restore', '--from', 'plain', '--camera', 'cam1', '--from-time', iso(1), '--to-time', iso(1.5), '--out', out);
    expect(clash.exitCode).toBe(1);
    expect(clash.stdout).toMatch(new RegExp(`failed +${file('cam1', 1)} \\(whole\\): a different file is already at .*${file('cam1', 1)} \\(not overwritten\\)`));
    expect(readFileSync(other, 'utf8')).toBe('mine');
    expect(readdirSync(path.join(out, 'cam1', day)).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 120_000);

  it('restore from an encrypted bucket with hidden names: decrypted, the same bytes, plays', async () => {
    const out = path.join(tmp.dir, 'out-sealed');
    const r = await recorder('restore', '--from', 'sealed', '--camera', 'cam1', '--from-time', iso(0), '--to-time', iso(3), '--out', out);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    noSecrets(r.stdout + r.stderr);
    expect(r.stdout).toMatch(/\(whole, encrypted, /);
    expect(r.stdout).toMatch(/\(live, 3 chunk\(s\), encrypted, /);
    expect(r.stdout).toMatch(/restore: 3 restored/);
    const day = dayFolderName(new Date(t0));
    expect(sha256(readFileSync(path.join(out, 'cam1', day, file('cam1', 1))))).toBe(sha256(seg));
    const dec = await decodesCleanly(path.join(out, 'cam1', day, file('cam1', 2)));
    expect(dec.ok, dec.detail).toBe(true);
  }, 120_000);

  it('a tampered object fails its segment with a clear line naming the copy, the others restore; exit 1', async () => {
    const out = path.join(tmp.dir, 'out-tampered');
    const r = await recorder('restore', '--from', 'named', '--camera', 'cam1', '--from-time', iso(9), '--to-time', iso(12), '--out', out);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    noSecrets(r.stdout + r.stderr);
    const failed = r.stdout.split('\n').filter((l) => l.startsWith('failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(new RegExp(`^failed +${file('cam1', 10)} \\(whole, encrypted\\): s3://cams/named/cam1/[\\d-]+/${file('cam1', 10)}\\.tenc: altered or records out of order \\(record \\d+ does not authenticate\\)$`));
    expect(r.stdout).toMatch(new RegExp(`restored ${file('cam1', 11)} `));
    expect(r.stdout).toMatch(/restore: 1 restored .*, 0 skipped \(already there\), 1 failed/);
    expect(filesUnder(out)).toEqual([`cam1/${dayFolderName(new Date(t0))}/${file('cam1', 11)}`]);
  }, 60_000);

  it('another key: every segment fails with "encrypted with another key", naming key ids only', async () => {
    const out = path.join(tmp.dir, 'out-other-key');
    const r = await recorder('restore', '--from', 'other-key', '--camera', 'cam1', '--from-time', iso(0), '--to-time', iso(3), '--out', out);
    expect(r.exitCode).toBe(1);
    noSecrets(r.stdout + r.stderr);
    const failed = r.stdout.split('\n').filter((l) => l.startsWith('failed'));
    expect(failed).toHaveLength(2); // the whole copy at 0 and the live one at 2
    for (const l of failed) expect(l).toMatch(/: s3:\/\/cams\/named\/cam1\/.*\.tenc(\.live\/\d{12}-\d{12})?: encrypted with another key \(key id [0-9a-f]{16}; the configured key is [0-9a-f]{16}\)$/);
    expect(filesUnder(out)).toEqual([]);
  }, 60_000);

  it('copies made by the s3 target and its live sender (encrypted, hidden names) restore', async () => {
    const cfg = loadConfigFile(cfgFile, env).replicas.find((r) => r.id === 'senders')!;
    const day = dayFolderName(new Date(t0));
    const local = path.join(tmp.dir, 'rec', 'cam1', day, file('cam1', 30));
    mkdirSync(path.dirname(local), { recursive: true });
    writeFileSync(local, seg);
    const put = await createReplicaTarget(cfg).put(replicaSegment({ absPath: local, cameraId: 'cam1', fileName: file('cam1', 30), startMs: t0 + 30 * MIN, durationMs: 4000 }));
    expect(put.outcome).toBe('copied');
    // the segment being recorded: appended every few hundred KB, the last append cut inside a fragment
    if (cfg.type !== 's3') throw new Error('senders is an s3 replica');
    const live = s3LiveTarget(cfg);
    const cut = Math.floor(seg.length * 0.8);
    for (let offset = 0; offset < cut; offset += 100_000) {
      const bytes = seg.subarray(offset, Math.min(cut, offset + 100_000));
      await live.append({ cameraId: 'cam1', fileName: file('cam1', 31), startMs: t0 + 31 * MIN, offset, bytes, durationMs: 0 });
    }
    const out = path.join(tmp.dir, 'out-senders');
    const r = await recorder('restore', '--from', 'senders', '--camera', 'cam1', '--from-time', iso(30), '--to-time', iso(32), '--out', out);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/restore: 2 restored/);
    expect(r.stdout).toMatch(new RegExp(`restored ${file('cam1', 31)} \\(live, \\d+ chunk\\(s\\), encrypted, .*\\): fragmented-partial, trim`));
    expect(sha256(readFileSync(path.join(out, 'cam1', day, file('cam1', 30))))).toBe(sha256(seg));
    expect((await decodesCleanly(path.join(out, 'cam1', day, file('cam1', 31)))).ok).toBe(true);
    const listed = JSON.parse((await recorder('replicas', '--json', '--camera', 'cam1')).stdout) as { replicas: { id: string; cameras: { whole: number; live: number }[] }[] };
    expect(listed.replicas.find((x) => x.id === 'senders')!.cameras).toMatchObject([{ whole: 1, live: 1 }]);
  }, 120_000);

  it('restore from an encrypted directory replica (whole copy and live chunks in <copy>.live/)', async () => {
    const out = path.join(tmp.dir, 'out-nas');
    const r = await recorder('restore', '--from', 'nas', '--camera', 'cam1', '--from-time', iso(0), '--to-time', iso(10), '--out', out);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    noSecrets(r.stdout + r.stderr);
    const day = dayFolderName(new Date(t0));
    // not the plain file nor the temp file in the replica folder
    expect(filesUnder(out)).toEqual([0, 1].map((m) => `cam1/${day}/${file('cam1', m)}`));
    for (const f of filesUnder(out)) expect((await decodesCleanly(path.join(out, f))).ok).toBe(true);
  }, 120_000);

  it('bad input: one-line errors (http replica, unknown replica, times, missing flags); no copies in a range', async () => {
    const base = ['--camera', 'cam1', '--from-time', iso(0), '--to-time', iso(1), '--out', path.join(tmp.dir, 'out-bad')];
    const cases: [string[], RegExp][] = [
      [['restore', '--from', 'office', ...base], /^recorder: replica "office" is type http: an http replica is another installation: restore from its board or run recorder export there$/],
      [['restore', '--from', 'nope', ...base], /^recorder: no replica "nope" in the config \(configured: plain, sealed, named, other-key, senders, nas, office\)$/],
      [['restore', ...base], /^recorder: restore needs --from <replica id>/],
      [['restore', '--from', 'plain', '--camera', 'cam1', '--from-time', 'yesterday', '--to-time', iso(1), '--out', 'x'], /^recorder: cannot read the time "yesterday"/],
      [['restore', '--from', 'plain', '--camera', 'cam1', '--from-time', iso(1), '--to-time', iso(0), '--out', 'x'], /^recorder: --from-time must be before --to-time$/],
      [['restore', '--from', 'plain', '--camera', 'cam1', '--from-time', iso(0), '--to-time', iso(1)], /^recorder: restore needs --out <folder>/],
      [['restore', '--from', 'plain', '--camera', 'Bad/Cam', '--from-time', iso(0), '--to-time', iso(1), '--out', 'x'], /^recorder: --camera "Bad\/Cam" is not a camera id/],
    ];
    for (const [args, re] of cases) {
      const r = await recorder(...args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(re);
    }
    const none = await recorder('restore', '--from', 'plain', '--camera', 'cam1', '--from-time', '-2h', '--to-time', '-1h', '--out', path.join(tmp.dir, 'out-none'));
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toMatch(/^no copies of cam1 on replica "plain" \(s3:\/\/cams\/plain\/ .*\) from /);
  }, 60_000);
});
