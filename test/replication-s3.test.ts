// The `type: s3` replica target against s3rver (a local S3 implementation):
// put / has / idempotence, a different object under the key, wrong keys,
// a missing bucket, the local file gone, the server down, and the bucket's
// ring buffer (prune by age and by size, never outside the prefix); encrypted
// (no plaintext in the bucket, tamper / wrong key detected, live chunks joined).
import { createHash, createHmac } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ReplicaConfig } from '@tapo/config';
import {
  ReplicationRejectedError,
  SourceGoneError,
  TargetDownError,
  closeS3Clients,
  createReplicaTarget,
  replicaSecrets,
  s3Target,
  replicaSegment,
  type ReplicaSegment,
} from '@tapo/replication';
import { ReplicaCryptoError, createOpenStream, generateKeyText, parseReplicaKey, sealBuffer, type ReplicaKey } from '@tapo/replica-crypto';
import { dayFolderName, segmentFileName } from '@tapo/storage';
import { copyName, liveChunkName, sealContext } from '../libs/replication/src/targets/copy-names.js';
import { makeFragmented } from './helpers/media.js';
import { tempDir } from './helpers/env.js';

interface KoaContext {
  req: IncomingMessage;
  status: number;
  type: string;
  body: unknown;
}
interface S3rverServer {
  run(): Promise<net.AddressInfo>;
  close(): Promise<void>;
  /** Koa's middleware list (composed when the server starts). */
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
}
type S3rverCtor = new (options: { port: number; address: string; silent: boolean; directory: string; configureBuckets: { name: string }[] }) => S3rverServer;
// s3rver has no type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

const HOUR = 3_600_000;
const BUCKET = 'cams';
/** s3rver's one key pair. */
const KEYS = { S3_KEY_ID: 'S3RVER', S3_SECRET: 'S3RVER' };
const hex = (d: string) => createHash('sha256').update(d).digest('hex');
const hmac = (key: Buffer | string, d: string) => createHmac('sha256', key).update(d).digest();
const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * True when the request's SigV4 signature is the one `secret` gives (s3rver
 * itself does not check v4 signatures: a wrong secret would pass).
 */
function signatureMatches(req: IncomingMessage, secret: string): boolean {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(req.headers.authorization ?? '');
  if (!auth) return false;
  const [, , day, region, signedHeaders, signature] = auth as unknown as [string, string, string, string, string, string];
  const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?') as [string, string?];
  const query = rawQuery
    .split('&')
    .filter(Boolean)
    .map((kv) => kv.split('=').map((x) => rfc3986(decodeURIComponent(x.replace(/\+/g, ' ')))) as [string, string?])
    .map(([k, v = '']) => `${k}=${v}`)
    .sort()
    .join('&');
  const names = signedHeaders.split(';');
  const headers = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, rawPath, query, headers, signedHeaders, String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD')].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', String(req.headers['x-amz-date']), scope, hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature;
}

const sha256 = (p: string | Buffer) => createHash('sha256').update(typeof p === 'string' ? readFileSync(p) : p).digest('hex');

describe('s3 replica target', () => {
  const tmp = tempDir('replication-s3');
  const now = Math.floor(Date.now() / 1000) * 1000;
  let server: S3rverServer;
  let port = 0;
  let mp4 = '';
  let direct: S3Client;

  const config = (extra = '', env: Record<string, string> = KEYS): ReplicaConfig => {
    const cfg = parseConfig(
      `recordingsDir: ${path.join(tmp.dir, 'rec')}\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\n  - { id: cam2, url: "rtsp://u:p@cam/2" }\n` +
        `replicas:\n  - { id: bucket, type: s3, endpoint: "http://127.0.0.1:${port}", bucket: ${BUCKET}, accessKeyId: "\${S3_KEY_ID}", secretAccessKey: "\${S3_SECRET}"${extra} }\n`,
      path.join(tmp.dir, 'cameras.yml'),
      env,
    );
    return cfg.replicas[0]!;
  };

  /** A copy of the test MP4 as the segment of `cameraId` starting at `start`, in the recordings layout. */
  const segment = (cameraId: string, start: Date, src = mp4): ReplicaSegment => {
    const fileName = segmentFileName(cameraId, start);
    const absPath = path.join(tmp.dir, 'rec', cameraId, dayFolderName(start), fileName);
    mkdirSync(path.dirname(absPath), { recursive: true });
    copyFileSync(src, absPath);
    return replicaSegment({ absPath, cameraId, fileName, startMs: start.getTime(), durationMs: 2000 });
  };
  const keyOf = (seg: ReplicaSegment, prefix = 'tapo-recorder/') => `${prefix}${seg.cameraId}/${dayFolderName(new Date(seg.startMs))}/${seg.fileName}`;
  const listKeys = async () => ((await direct.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();

  beforeAll(async () => {
    mp4 = path.join(tmp.dir, 'test.mp4');
    await makeFragmented(mp4, 2);
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.join(tmp.dir, 's3'), configureBuckets: [{ name: BUCKET }] });
    // Real S3 answers a wrong secret with 403 SignatureDoesNotMatch: so does this one.
    server.middleware.unshift(async (ctx, next) => {
      const auth = ctx.req.headers.authorization ?? '';
      if (auth.includes(`Credential=${KEYS.S3_KEY_ID}/`) && !signatureMatches(ctx.req, KEYS.S3_SECRET)) {
        ctx.status = 403;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message></Error>';
        return;
      }
      await next();
    });
    port = (await server.run()).port;
    direct = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: KEYS.S3_KEY_ID, secretAccessKey: KEYS.S3_SECRET },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  afterAll(async () => {
    direct?.destroy();
    closeS3Clients();
    await server?.close().catch(() => {});
    tmp.cleanup();
  });

  it('puts a segment as <prefix><camera>/<day>/<file> with its sha256; has / put again are "already"', async () => {
    const cfg = config();
    expect(replicaSecrets(cfg)).toEqual(expect.arrayContaining([KEYS.S3_SECRET]));
    const target = createReplicaTarget(cfg);
    expect(target.where).toBe(`s3://${BUCKET}/tapo-recorder/ (http://127.0.0.1:${port})`);
    expect(target.prune).toBeUndefined(); // no retention, no ring buffer

    const seg = segment('cam1', new Date(now - HOUR));
    expect(await target.has(seg)).toBe(false);
    const first = await target.put(seg);
    expect(first).toEqual({ outcome: 'copied', sha256: sha256(seg.absPath), bytes: statSync(seg.absPath).size, to: `s3://${BUCKET}/${keyOf(seg)}` });

    const got = await direct.send(new GetObjectCommand({ Bucket: BUCKET, Key: keyOf(seg) }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    expect(sha256(body)).toBe(sha256(seg.absPath));
    expect(got.ContentType).toBe('video/mp4');
    expect(got.Metadata).toMatchObject({ sha256: sha256(seg.absPath), camera: 'cam1', start: new Date(seg.startMs).toISOString(), duration: '2.000' });

    // A fresh segment object (as the next job makes it): found, and a second put changes nothing.
    const again = replicaSegment({ absPath: seg.absPath, cameraId: 'cam1', fileName: seg.fileName, startMs: seg.startMs, durationMs: 2000 });
    expect(await target.has(again)).toBe(true);
    expect((await target.put(again)).outcome).toBe('already');
    expect(await listKeys()).toEqual([keyOf(seg)]);
  });

  it('a different object under the key is refused, never overwritten', async () => {
    const target = createReplicaTarget(config(', prefix: "other-house/"'));
    const seg = segment('cam1', new Date(now - HOUR + 10_000));
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyOf(seg, 'other-house/'), Body: 'someone else', Metadata: { sha256: sha256(Buffer.from('someone else')) } }));
    const err = await target.has(seg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicationRejectedError);
    expect((err as Error).message).toMatch(/a different object is already there \(12 bytes/);
    await expect(target.put(seg)).rejects.toBeInstanceOf(ReplicationRejectedError);
    const head = await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keyOf(seg, 'other-house/') }));
    expect(head.ContentLength).toBe(12);
  });

  it('wrong keys and a missing bucket are rejected without the secret in the message; a gone file is SourceGoneError', async () => {
    const seg = segment('cam1', new Date(now - HOUR + 20_000));
    const secret = 'wrong-secret-0123456789-do-not-log';
    const wrong = createReplicaTarget(config('', { ...KEYS, S3_SECRET: secret }));
    for (const op of [() => wrong.has(seg), () => wrong.put(seg)]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicationRejectedError);
      expect((err as Error).message).toContain('replica "bucket" (s3 ');
      expect((err as Error).message).toMatch(/HTTP 403/);
      expect((err as Error).message).not.toContain(secret);
    }
    const unknownKey = await createReplicaTarget(config('', { ...KEYS, S3_KEY_ID: 'NOSUCHKEY' })).put(seg).catch((e: unknown) => e);
    expect(unknownKey).toBeInstanceOf(ReplicationRejectedError);
    // HEAD answers have no body: the status and a hint, not the S3 error code.
    expect((unknownKey as Error).message).toMatch(/HTTP 403 Forbidden: no details in the answer \(check accessKeyId \/ secretAccessKey/);
    expect((unknownKey as Error).message).not.toContain('NOSUCHKEY');

    // Answers with a body (LIST) name the S3 error.
    const listWrong = await createReplicaTarget(config(', retention: { maxAge: 1d }', { ...KEYS, S3_SECRET: secret })).prune!(now).catch((e: unknown) => e);
    expect(listWrong).toBeInstanceOf(ReplicationRejectedError);
    expect((listWrong as Error).message).toMatch(/HTTP 403 SignatureDoesNotMatch: .*\(wrong secretAccessKey, or the region does not match\)/);
    expect((listWrong as Error).message).not.toContain(secret);
    const listUnknown = await createReplicaTarget(config(', retention: { maxAge: 1d }', { ...KEYS, S3_KEY_ID: 'NOSUCHKEY' })).prune!(now).catch((e: unknown) => e);
    expect((listUnknown as Error).message).toMatch(/HTTP 403 InvalidAccessKeyId: .*\(the accessKeyId is not known there\)/);
    expect((listUnknown as Error).message).not.toContain('NOSUCHKEY');

    const noBucket = createReplicaTarget({ ...config(), bucket: 'no-such-bucket' } as ReplicaConfig);
    const err = await noBucket.put(seg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicationRejectedError);
    expect((err as Error).message).toMatch(/NoSuchBucket.*the bucket "no-such-bucket" does not exist/);

    const gone = replicaSegment({ absPath: path.join(tmp.dir, 'rec', 'gone.mp4'), cameraId: 'cam1', fileName: segmentFileName('cam1', new Date(now)), startMs: now, durationMs: 2000 });
    const target = createReplicaTarget(config());
    await expect(target.has(gone)).rejects.toBeInstanceOf(SourceGoneError);
    await expect(target.put(gone)).rejects.toBeInstanceOf(SourceGoneError);
  });

  it("prunes the bucket's ring buffer by age and by size, only below its prefix", async () => {
    const target = createReplicaTarget(config(', prefix: "ring/", retention: { maxAge: 36h }'));
    const old = [3, 2, 1].map((d) => segment(d === 2 ? 'cam2' : 'cam1', new Date(now - d * 24 * HOUR)));
    const fresh = segment('cam1', new Date(now - 60_000));
    for (const s of [...old, fresh]) expect((await target.put(s)).outcome).toBe('copied');
    // Keys of others: outside the prefix, and below it but not named like a segment.
    const outside = `ringside/cam1/${dayFolderName(new Date(now - 10 * 24 * HOUR))}/${segmentFileName('cam1', new Date(now - 10 * 24 * HOUR))}`;
    const stranger = 'ring/notes.txt';
    for (const Key of [outside, stranger]) await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'not ours' }));

    const byAge = await target.prune!(now);
    expect(byAge).toMatchObject({ deleted: 2, errors: [] });
    expect(byAge.bytes).toBe(2 * statSync(mp4).size);
    let keys = await listKeys();
    for (const s of old.slice(0, 2)) expect(keys).not.toContain(keyOf(s, 'ring/'));
    for (const k of [keyOf(old[2]!, 'ring/'), keyOf(fresh, 'ring/'), outside, stranger]) expect(keys).toContain(k);

    const bySize = createReplicaTarget(config(`, prefix: "ring/", retention: { maxSize: ${statSync(mp4).size + 10} }`));
    expect(await bySize.prune!(now)).toMatchObject({ deleted: 1, errors: [] });
    keys = await listKeys();
    expect(keys).not.toContain(keyOf(old[2]!, 'ring/'));
    for (const k of [keyOf(fresh, 'ring/'), outside, stranger]) expect(keys).toContain(k);
    // Other prefixes' copies are untouched too.
    expect(keys.filter((k) => k.startsWith('tapo-recorder/'))).toHaveLength(1);
  });

  describe('encrypted', () => {
    const SEALED = 'sealed-cams';
    const KEY_TEXT = generateKeyText();
    const key = parseReplicaKey(KEY_TEXT);
    const encEnv = { ...KEYS, REPLICA_KEY: KEY_TEXT };
    const encConfig = (extra = '', env: Record<string, string> = encEnv) => ({
      ...(config(`, prefix: "house/", encryption: { key: "\${REPLICA_KEY}", hideNames: true }${extra}`, env) as Extract<ReplicaConfig, { type: 's3' }>),
      bucket: SEALED,
    });
    const naming = { prefix: 'house/', key, hideNames: true };
    const allObjects = async () => ((await direct.send(new ListObjectsV2Command({ Bucket: SEALED }))).Contents ?? []).map((o) => o.Key!).sort();
    const getObject = async (Key: string) => {
      const got = await direct.send(new GetObjectCommand({ Bucket: SEALED, Key }));
      return { body: Buffer.from(await got.Body!.transformToByteArray()), metadata: got.Metadata ?? {} };
    };
    /** Opens a sealed object through createOpenStream (what restore does). */
    const openObject = async (k: ReplicaKey, Key: string, cameraId: string, fileName: string): Promise<Buffer> => {
      const got = await direct.send(new GetObjectCommand({ Bucket: SEALED, Key }));
      const parts: Buffer[] = [];
      await pipeline(got.Body as NodeJS.ReadableStream, createOpenStream(k, sealContext(cameraId, fileName), `s3://${SEALED}/${Key}`), async (plain: AsyncIterable<Buffer>) => {
        for await (const b of plain) parts.push(b);
      });
      return Buffer.concat(parts);
    };

    beforeAll(async () => {
      await direct.send(new CreateBucketCommand({ Bucket: SEALED }));
    });

    it('no plaintext and no camera id in the bucket; has / put again are "already"; the key is a secret', async () => {
      const cfg = encConfig();
      expect(replicaSecrets(cfg)).toEqual(expect.arrayContaining([KEY_TEXT]));
      const target = createReplicaTarget(cfg);
      const segs = [segment('cam1', new Date(now - 2 * HOUR)), segment('cam2', new Date(now - 2 * HOUR + 5_000))];
      for (const seg of segs) {
        expect(await target.has(seg)).toBe(false);
        const r = await target.put(seg);
        expect(r).toEqual({ outcome: 'copied', sha256: sha256(seg.absPath), bytes: statSync(seg.absPath).size, to: `s3://${SEALED}/${copyName(naming, seg.cameraId, seg.fileName)}` });
      }
      const keys = await allObjects();
      expect(keys).toEqual(segs.map((s) => copyName(naming, s.cameraId, s.fileName)).sort());
      for (const k of keys) {
        expect(k).toMatch(/^house\/c[0-9a-f]{16}\/\d{4}-\d{2}-\d{2}\/c[0-9a-f]{16}-\d{8}T\d{6}Z\.mp4\.tenc$/);
        for (const cam of ['cam1', 'cam2']) expect(k).not.toContain(cam);
        const { body, metadata } = await getObject(k);
        for (const marker of ['ftyp', 'moof', 'mdat', 'cam1', 'cam2']) expect(body.includes(Buffer.from(marker)), `${marker} in ${k}`).toBe(false);
        expect(metadata).not.toHaveProperty('sha256');
        expect(metadata).not.toHaveProperty('camera');
        expect(JSON.stringify(metadata)).not.toMatch(/cam[12]/);
        expect(metadata).toMatchObject({ 'key-id': key.id, 'plain-bytes': String(statSync(mp4).size) });
        for (const v of Object.values(metadata)) expect(v).not.toBe(sha256(mp4));
      }
      // The plaintext comes back whole through createOpenStream.
      const plain = await openObject(key, copyName(naming, 'cam1', segs[0]!.fileName), 'cam1', segs[0]!.fileName);
      expect(sha256(plain)).toBe(sha256(segs[0]!.absPath));

      const again = replicaSegment({ absPath: segs[0]!.absPath, cameraId: 'cam1', fileName: segs[0]!.fileName, startMs: segs[0]!.startMs, durationMs: 2000 });
      expect(await target.has(again)).toBe(true);
      expect((await target.put(again)).outcome).toBe('already');
      expect(await allObjects()).toEqual(keys);

      // Another file under that name (same size, other content) is refused.
      const other = segment('cam1', new Date(segs[0]!.startMs));
      const bytes = readFileSync(other.absPath);
      bytes[bytes.length - 1]! ^= 0xff;
      writeFileSync(other.absPath, bytes);
      const err = await target.has(other).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicationRejectedError);
      expect((err as Error).message).toMatch(/a different object is already there \(\d+ plaintext bytes in \d+, another content/);
      copyFileSync(mp4, other.absPath);
    });

    it('a tampered object does not open (ReplicaCryptoError naming it); a wrong key is a clear error', async () => {
      const target = createReplicaTarget(encConfig());
      const seg = segment('cam1', new Date(now - 2 * HOUR + 60_000));
      await target.put(seg);
      const Key = copyName(naming, 'cam1', seg.fileName);
      const { body, metadata } = await getObject(Key);
      body[Math.floor(body.length / 2)]! ^= 0x01;
      await direct.send(new PutObjectCommand({ Bucket: SEALED, Key, Body: body, Metadata: metadata }));
      const err = await openObject(key, Key, 'cam1', seg.fileName).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicaCryptoError);
      expect((err as Error).message).toContain(`s3://${SEALED}/${Key}: altered`);
      expect((err as Error).message.split('\n')).toHaveLength(1);

      // Another name for the same object does not open either (the name is bound in).
      const moved = await openObject(key, copyName(naming, 'cam1', seg.fileName), 'cam2', seg.fileName.replace('cam1', 'cam2')).catch((e: unknown) => e);
      expect(moved).toBeInstanceOf(ReplicaCryptoError);

      // The wrong key: opening says so, and a target with it refuses the copy it cannot own.
      const wrongText = generateKeyText();
      const wrong = parseReplicaKey(wrongText);
      const cam2Seg = segment('cam2', new Date(now - 2 * HOUR + 5_000));
      const cam2Key = copyName(naming, 'cam2', cam2Seg.fileName);
      const bad = await openObject(wrong, cam2Key, 'cam2', cam2Seg.fileName).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ReplicaCryptoError);
      expect((bad as Error).message).toMatch(new RegExp(`s3://${SEALED}/${cam2Key.replace(/\./g, '\\.')}: encrypted with another key \\(key id ${key.id}; the configured key is ${wrong.id}\\)`));
      expect((bad as Error).message).not.toContain(wrongText.slice(12));
      // A wrong key with hideNames sees other names; without it, the same name holds another key's object.
      const shown = createReplicaTarget({ ...encConfig('', { ...encEnv, REPLICA_KEY: wrongText }), encryption: { key: wrong, hideNames: false } });
      await direct.send(new PutObjectCommand({ Bucket: SEALED, Key: copyName({ prefix: 'house/', key }, 'cam1', seg.fileName), Body: sealBuffer(key, sealContext('cam1', seg.fileName), readFileSync(seg.absPath)), Metadata: { 'key-id': key.id } }));
      const refused = await shown.has(seg).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ReplicationRejectedError);
      expect((refused as Error).message).toMatch(new RegExp(`encrypted with another key \\(key id ${key.id}; the configured key is ${wrong.id}\\)`));
      expect((refused as Error).message).not.toContain(wrongText.slice(12));
      expect((refused as Error).message).not.toContain(KEY_TEXT.slice(12));
    });

    it('joins live chunks after the whole put; the prune counts chunks, deletes them with their segment, never touches others', async () => {
      const target = createReplicaTarget(encConfig(', retention: { maxAge: 36h }'));
      const chunk = (cameraId: string, fileName: string, offset: number, end: number) => liveChunkName(naming, cameraId, fileName, offset, end);
      const putChunk = (Key: string, cameraId: string, fileName: string, offset: number) =>
        direct.send(new PutObjectCommand({ Bucket: SEALED, Key, Body: sealBuffer(key, sealContext(cameraId, fileName, offset), Buffer.alloc(1000, 7)) }));

      // Live chunks of a segment, then its whole put: the chunks go.
      const joined = segment('cam1', new Date(now - HOUR));
      const joinedChunks = [chunk('cam1', joined.fileName, 0, 1000), chunk('cam1', joined.fileName, 1000, 2000)];
      for (const [i, k] of joinedChunks.entries()) await putChunk(k, 'cam1', joined.fileName, i * 1000);
      expect((await allObjects()).filter((k) => k.includes('.live/'))).toHaveLength(2);
      expect((await target.put(joined)).outcome).toBe('copied');
      for (const k of joinedChunks) expect(await allObjects()).not.toContain(k);

      // A segment recorded 3 days ago only in chunks (never closed), one of 2 days ago whole plus a missed join,
      // one fresh live set, and data of others in the bucket.
      const oldSeg = segmentFileName('cam1', new Date(now - 3 * 24 * HOUR));
      const oldChunks = [chunk('cam1', oldSeg, 0, 1000), chunk('cam1', oldSeg, 1000, 2000)];
      for (const [i, k] of oldChunks.entries()) await putChunk(k, 'cam1', oldSeg, i * 1000);
      const recent = segment('cam2', new Date(now - 30 * HOUR));
      await target.put(recent);
      const missed = chunk('cam2', recent.fileName, 0, 1000);
      await putChunk(missed, 'cam2', recent.fileName, 0);
      const liveSeg = segmentFileName('cam1', new Date(now - 60_000));
      const live = chunk('cam1', liveSeg, 0, 1000);
      await putChunk(live, 'cam1', liveSeg, 0);
      const strangers = [
        'house/notes.txt',
        `house/cam1/${dayFolderName(new Date(now - 10 * 24 * HOUR))}/${segmentFileName('cam1', new Date(now - 10 * 24 * HOUR))}`, // a plain copy: not this naming
        `elsewhere/${copyName(naming, 'cam1', oldSeg)}`,
        `${copyName(naming, 'cam1', oldSeg)}.live/garbage`,
      ];
      for (const Key of strangers) await direct.send(new PutObjectCommand({ Bucket: SEALED, Key, Body: 'not ours' }));

      const byAge = await target.prune!(now);
      expect(byAge.errors).toEqual([]);
      let keys = await allObjects();
      for (const k of [...oldChunks, missed]) expect(keys).not.toContain(k);
      for (const k of [copyName(naming, 'cam2', recent.fileName), copyName(naming, 'cam1', joined.fileName), live, ...strangers]) expect(keys).toContain(k);
      expect(byAge.deleted).toBe(3); // the 3-day-old chunks and the missed join; every copy is younger than 36 h
      // maxSize counts the live chunks: a limit below (copies + the live chunk) drops the oldest copies, and the live set is the newest.
      const segBytes = (await direct.send(new HeadObjectCommand({ Bucket: SEALED, Key: copyName(naming, 'cam1', joined.fileName) }))).ContentLength!;
      const bySize = createReplicaTarget(encConfig(`, retention: { maxSize: ${segBytes + 500} }`));
      const s = await bySize.prune!(now);
      expect(s.errors).toEqual([]);
      keys = await allObjects();
      expect(keys).not.toContain(copyName(naming, 'cam1', joined.fileName)); // it + the 1000-byte live chunk > the limit
      expect(keys).toContain(live);
      for (const k of strangers) expect(keys).toContain(k);
      expect(keys.filter((k) => k.startsWith('house/') && k.endsWith('.tenc'))).toEqual([]);
    });
  });

  it('the server stopped is "down" (has, put, prune), without secrets', async () => {
    const target = createReplicaTarget(config(', retention: { maxAge: 1d }'));
    const seg = segment('cam1', new Date(now - HOUR + 30_000));
    await server.close();
    const t0 = Date.now();
    for (const op of [() => target.has(seg), () => target.put(seg), () => target.prune!(now)]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetDownError);
      expect((err as Error).message).toMatch(/replica "bucket" \(s3 \w+ s3:\/\/cams\/.* at http:\/\/127\.0\.0\.1:\d+\): unreachable/);
      expect((err as Error).message).not.toContain(KEYS.S3_SECRET);
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a silent server (timeout) and a 503 are "down"', async () => {
    const silent = net.createServer(() => {});
    const busy = http.createServer((_req, res) => void res.writeHead(503, { 'content-type': 'application/xml' }).end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'));
    const listen = (srv: net.Server) => new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as net.AddressInfo).port)));
    const [silentPort, busyPort] = [await listen(silent), await listen(busy)];
    try {
      const seg = segment('cam1', new Date(now - HOUR + 40_000));
      const base = config(', retention: { maxAge: 1d }') as Extract<ReplicaConfig, { type: 's3' }>;
      const t0 = Date.now();
      const timedOut = await s3Target({ ...base, endpoint: `http://127.0.0.1:${silentPort}` }, { idleTimeoutMs: 300 }).has(seg).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(TargetDownError);
      expect((timedOut as Error).message).toMatch(/unreachable: .*timed out after 300 ms of inactivity/);
      const put = await s3Target({ ...base, endpoint: `http://127.0.0.1:${silentPort}` }, { idleTimeoutMs: 300 }).put(seg).catch((e: unknown) => e);
      expect(put).toBeInstanceOf(TargetDownError);
      const total = await s3Target({ ...base, endpoint: `http://127.0.0.1:${silentPort}` }, { requestTimeoutMs: 300 }).prune!(now).catch((e: unknown) => e);
      expect(total).toBeInstanceOf(TargetDownError);
      expect((total as Error).message).toMatch(/exceeded the configured 300 ms requestTimeout/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      for (const op of ['has', 'prune'] as const) {
        const t = s3Target({ ...base, endpoint: `http://127.0.0.1:${busyPort}` });
        const err = await (op === 'has' ? t.has(seg) : t.prune!(now)).catch((e: unknown) => e);
        expect(err, op).toBeInstanceOf(TargetDownError);
        expect((err as Error).message).toMatch(/HTTP 503/);
      }
    } finally {
      silent.close();
      busy.close();
      busy.closeAllConnections();
    }
  });
});
