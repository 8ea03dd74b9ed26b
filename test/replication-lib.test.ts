// Off-site copies (@tapo/replication): the directory target (copy, idempotent
// second copy, prune), the receiving endpoint (auth, path safety, hash / size /
// playability checks, idempotence, concurrent identical uploads) and the full
// flow through BullMQ with a target that is down while segments pile up.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type DirectoryReplica, type HttpReplica, type RecorderConfig } from '@tapo/config';
import { createLogger } from '@tapo/log';
import { REPLICATE_JOB_NAME, createRedis, replicateJobId, replicateQueueName, type ReplicateJobData } from '@tapo/queues';
import { createReceiveRouter } from '@tapo/replica-receiver';
import {
  ReplicationRejectedError,
  SourceGoneError,
  TargetDownError,
  copyToDirectoryTarget,
  enqueueReplicas,
  processReplicate,
  pruneDirectoryTarget,
  replicateQueues,
  replicationStatus,
  startReplicationWorkers,
  TargetHealth,
  uploadToHttpTarget,
  type TargetState,
} from '@tapo/replication';
import { SegmentIndex } from '@tapo/segment-index';
import { dayFolderName, segmentFileName, segmentPath } from '@tapo/storage';
import { REDIS_URL, deletePrefix, tempDir, uniquePrefix, waitFor } from './helpers/env.js';

const quiet = createLogger({ name: 'replication-test', pretty: false, level: process.env.REPL_LOG ?? 'silent' });
const TOKEN = 'good-token-0123456789abcdef';
const HOUR = 3_600_000;

function ffmpegSegment(out: string, seconds: number, color = 'testsrc'): void {
  execFileSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `${color}=size=320x240:rate=15`, '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-pix_fmt', 'yuv420p',
    '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', out,
  ]);
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every file below `dir` (relative), dot files included. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

interface RawAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A raw request (no URL normalisation by the client). */
function raw(port: number, method: string, rawPath: string, headers: Record<string, string> = {}, body?: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function putHeaders(body: Buffer, token = TOKEN, hash = createHash('sha256').update(body).digest('hex')): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
    'x-content-sha256': hash,
    'x-segment-start-ms': '0',
    'x-segment-duration-ms': '2000',
  };
}

/** Sends the headers and `sent` bytes of a `declared`-byte body, then cuts the connection. */
function truncatedPut(port: number, rawPath: string, body: Buffer, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const h = putHeaders(body);
      s.write(`PUT ${rawPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      s.write(body.subarray(0, sent), () => setTimeout(() => s.destroy(), 100));
    });
    s.on('close', () => resolve());
    s.on('error', () => {});
  });
}

interface Receiver {
  port: number;
  root: string;
  index: SegmentIndex;
  /** PUTs answered 201, in order. */
  stored: string[];
  config: RecorderConfig;
  /** While true, indexing a stored segment fails (the index is unreachable). */
  failIndex: boolean;
  start(port?: number): Promise<number>;
  stop(): Promise<void>;
}

function makeReceiver(redis: Redis, prefix: string, root: string, opts: { maxBytes?: number; failName?: string } = {}): Receiver {
  const config = parseConfig(
    `recordingsDir: ${root}\nreceive:\n  maxBytes: ${opts.maxBytes ?? 50_000_000}\n  tokens:\n    - { id: house, token: ${TOKEN}, cameraPrefix: "house-" }\n    - { id: plain, token: plain-token-0123456789abcdef }\n`,
    '/etc/receiver.yml',
    {},
  );
  const index = new SegmentIndex(redis, prefix);
  const app = express();
  const stored: string[] = [];
  app.use((req, res, next) => {
    if (req.method === 'PUT') res.on('finish', () => res.statusCode === 201 && stored.push(decodeURIComponent(req.path.split('/').pop()!)));
    if (opts.failName && req.path.endsWith(`/${opts.failName}`)) return void res.status(500).json({ error: 'broken for this file' });
    next();
  });
  app.use(
    createReceiveRouter({
      getConfig: () => config,
      index,
      // What the board wires: the segment goes into the index as playable.
      onStored: async (seg) => {
        if (r.failIndex) throw new Error('index unreachable');
        await index.upsert({ ...seg, status: 'ok' });
      },
      logger: quiet,
    }),
  );
  let server: http.Server | undefined;
  const r: Receiver = {
    port: 0,
    root,
    index,
    stored,
    config,
    failIndex: false,
    async start(port = 0) {
      server = http.createServer(app);
      await new Promise<void>((res) => server!.listen(port, '127.0.0.1', () => res()));
      r.port = (server.address() as net.AddressInfo).port;
      return r.port;
    },
    async stop() {
      if (!server) return;
      const s = server;
      server = undefined;
      s.closeAllConnections();
      await new Promise((res) => s.close(res));
    },
  };
  return r;
}

describe('replication', () => {
  const tmp = tempDir('replication');
  const redis = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  const seg2s = path.join(tmp.dir, 'seg-2s.mp4');
  const seg1s = path.join(tmp.dir, 'seg-1s.mp4');
  const now = Date.now();
  const prefixFor = (name: string) => {
    const p = uniquePrefix(`repl-${name}`);
    prefixes.push(p);
    return p;
  };

  beforeAll(() => {
    ffmpegSegment(seg2s, 2);
    ffmpegSegment(seg1s, 1, 'testsrc2');
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(redis, p);
    await redis.quit();
    tmp.cleanup();
  });

  /** Puts a copy of a test segment at its contract path; returns [abs, rel]. */
  function placeSegment(root: string, cameraId: string, start: Date, src = seg2s): { abs: string; rel: string; name: string } {
    const abs = segmentPath(root, cameraId, start);
    mkdirSync(path.dirname(abs), { recursive: true });
    copyFileSync(src, abs);
    return { abs, rel: path.relative(root, abs), name: path.basename(abs) };
  }

  it('directory target: copies, is idempotent, refuses to overwrite, reports down / source gone, prunes its ring buffer', async () => {
    const root = path.join(tmp.dir, 'dir-src');
    const nas = path.join(tmp.dir, 'nas');
    mkdirSync(nas, { recursive: true });
    const target: DirectoryReplica = { id: 'nas', type: 'directory', path: nas, retention: {}, alertAfterSeconds: 300 };
    const start = new Date(Math.floor(now / 1000) * 1000 - HOUR);
    const s = placeSegment(root, 'cam1', start);

    const t0 = performance.now();
    const first = await copyToDirectoryTarget(target, { absPath: s.abs, cameraId: 'cam1', fileName: s.name });
    const copyMs = performance.now() - t0;
    expect(first.outcome).toBe('copied');
    const dest = path.join(nas, 'cam1', dayFolderName(start), s.name);
    expect(first.to).toBe(dest);
    expect(sha256(dest)).toBe(sha256(s.abs));
    expect(first.sha256).toBe(sha256(s.abs));
    expect(tree(nas)).toEqual([path.relative(nas, dest)]); // no temp file left
    const second = await copyToDirectoryTarget(target, { absPath: s.abs, cameraId: 'cam1', fileName: s.name });
    expect(second.outcome).toBe('already');
    expect(tree(nas)).toEqual([path.relative(nas, dest)]);
    console.log(`directory copy of ${statSync(s.abs).size} bytes: ${copyMs.toFixed(1)} ms`);

    // A different file under the same name is not overwritten.
    const other = placeSegment(root, 'cam1', new Date(start.getTime() + 2000), seg1s);
    const otherDest = path.join(nas, 'cam1', dayFolderName(start), other.name);
    writeFileSync(otherDest, 'someone else');
    await expect(copyToDirectoryTarget(target, { absPath: other.abs, cameraId: 'cam1', fileName: other.name })).rejects.toBeInstanceOf(ReplicationRejectedError);
    expect(readFileSync(otherDest, 'utf8')).toBe('someone else');

    // Not mounted → down (and nothing created); source gone → SourceGoneError.
    const missing: DirectoryReplica = { ...target, path: path.join(tmp.dir, 'not-mounted') };
    await expect(copyToDirectoryTarget(missing, { absPath: s.abs, cameraId: 'cam1', fileName: s.name })).rejects.toBeInstanceOf(TargetDownError);
    expect(existsSync(missing.path)).toBe(false);
    await expect(copyToDirectoryTarget(target, { absPath: path.join(root, 'cam1', 'gone.mp4'), cameraId: 'cam1', fileName: segmentFileName('cam1', new Date(start.getTime() + 4000)) })).rejects.toBeInstanceOf(
      SourceGoneError,
    );

    // Prune: three old days of copies (two cameras), one new one, a symlinked camera folder outside, a stale temp file.
    const pruneRoot = path.join(tmp.dir, 'nas-prune');
    mkdirSync(pruneRoot, { recursive: true });
    const outside = path.join(tmp.dir, 'outside', 'cam9', dayFolderName(new Date(now - 10 * 24 * HOUR)));
    mkdirSync(outside, { recursive: true });
    const outsideFile = path.join(outside, segmentFileName('cam9', new Date(now - 10 * 24 * HOUR)));
    copyFileSync(seg1s, outsideFile);
    symlinkSync(path.join(tmp.dir, 'outside', 'cam9'), path.join(pruneRoot, 'cam9'));
    const old = [3, 2, 1].map((d) => placeSegment(pruneRoot, d === 2 ? 'cam2' : 'cam1', new Date(now - d * 24 * HOUR), seg1s));
    const fresh = placeSegment(pruneRoot, 'cam1', new Date(now - 60_000), seg1s);
    const stale = path.join(path.dirname(fresh.abs), `.${fresh.name}.partial-abc`);
    writeFileSync(stale, 'x');
    const past = new Date(now - 2 * HOUR);
    (await import('node:fs')).utimesSync(stale, past, past);

    const byAge = await pruneDirectoryTarget({ ...target, path: pruneRoot, retention: { maxAgeSeconds: 36 * 3600 } });
    expect(byAge.deleted).toBe(2);
    expect(byAge.stalePartialsRemoved).toBe(1);
    expect(existsSync(old[0]!.abs) || existsSync(old[1]!.abs)).toBe(false);
    expect(existsSync(path.dirname(old[0]!.abs))).toBe(false); // emptied day folder removed
    expect(existsSync(path.join(pruneRoot, 'cam2'))).toBe(false); // and the emptied camera folder
    expect(existsSync(old[2]!.abs) && existsSync(fresh.abs)).toBe(true);
    expect(existsSync(outsideFile)).toBe(true); // a symlink out of the target is never followed

    const size = statSync(fresh.abs).size;
    const bySize = await pruneDirectoryTarget({ ...target, path: pruneRoot, retention: { maxBytes: size + 10 } });
    expect(bySize.deleted).toBe(1);
    expect(existsSync(old[2]!.abs)).toBe(false);
    expect(existsSync(fresh.abs)).toBe(true);
    expect(existsSync(outsideFile)).toBe(true);
  });

  describe('receiving endpoint', () => {
    const prefix = prefixFor('recv');
    const root = path.join(tmp.dir, 'recv');
    const srcRoot = path.join(tmp.dir, 'recv-src');
    let rx: Receiver;
    const start = new Date(Math.floor(now / 1000) * 1000 - 30 * 60_000);
    const target = (): HttpReplica => ({ id: 'office', type: 'http', url: `http://127.0.0.1:${rx.port}`, token: TOKEN, retention: {}, alertAfterSeconds: 300, live: true });
    const urlPath = (cam: string, name: string) => `/api/replica/segments/${cam}/${name}`;

    beforeAll(async () => {
      mkdirSync(root, { recursive: true });
      rx = makeReceiver(redis, prefix, root, { maxBytes: 2_000_000 });
      await rx.start();
    });
    afterAll(() => rx.stop());

    it('stores and indexes a good upload under the prefixed camera, once', async () => {
      const s = placeSegment(srcRoot, 'cam1', start);
      const t0 = performance.now();
      const r = await uploadToHttpTarget(target(), { absPath: s.abs, cameraId: 'cam1', fileName: s.name, startMs: start.getTime(), durationMs: 2000 });
      const ms = performance.now() - t0;
      expect(r.outcome).toBe('copied');
      const storedName = segmentFileName('house-cam1', start);
      const rel = `house-cam1/${dayFolderName(start)}/${storedName}`;
      expect(sha256(path.join(root, rel))).toBe(sha256(s.abs));
      const rec = await rx.index.get('house-cam1', rel);
      expect(rec).toMatchObject({ cameraId: 'house-cam1', file: rel, startMs: start.getTime(), durationMs: 2000, status: 'ok', host: 'replica:house', bytes: statSync(s.abs).size });
      console.log(`HTTP upload of ${statSync(s.abs).size} bytes (hash, HEAD, PUT, verify, index): ${ms.toFixed(1)} ms`);

      const again = await uploadToHttpTarget(target(), { absPath: s.abs, cameraId: 'cam1', fileName: s.name, startMs: start.getTime(), durationMs: 2000 });
      expect(again.outcome).toBe('already');
      const head = await raw(rx.port, 'HEAD', urlPath('cam1', s.name), { authorization: `Bearer ${TOKEN}` });
      expect(head.status).toBe(200);
      expect(head.headers['x-content-sha256']).toBe(sha256(s.abs));
      expect(tree(root)).toEqual([rel]);

      // A PUT of the same bytes again (no HEAD first): 200, not rewritten.
      const mtime = statSync(path.join(root, rel)).mtimeMs;
      const body = readFileSync(s.abs);
      const put = await raw(rx.port, 'PUT', urlPath('cam1', s.name), putHeaders(body), body);
      expect(put.status).toBe(200);
      expect(JSON.parse(put.body)).toMatchObject({ stored: true, already: true, file: rel });
      expect(statSync(path.join(root, rel)).mtimeMs).toBe(mtime);

      // Different content under that name → 409, the stored file stays.
      const other = readFileSync(seg1s);
      const conflict = await raw(rx.port, 'PUT', urlPath('cam1', s.name), putHeaders(other), other);
      expect(conflict.status).toBe(409);
      expect(sha256(path.join(root, rel))).toBe(sha256(s.abs));
      expect(tree(root)).toEqual([rel]);
    });

    it('refuses a missing or wrong token with 401 and writes nothing', async () => {
      const before = tree(root);
      const body = readFileSync(seg2s);
      const name = segmentFileName('cam7', start);
      for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, `Bearer ${TOKEN}x`]) {
        const h = putHeaders(body);
        if (auth) h.authorization = auth;
        else delete (h as Partial<typeof h>).authorization;
        const res = await raw(rx.port, 'PUT', urlPath('cam7', name), h, body);
        expect(res.status).toBe(401);
        const head = await raw(rx.port, 'HEAD', urlPath('cam7', name), auth ? { authorization: auth } : {});
        expect(head.status).toBe(401);
      }
      expect(tree(root)).toEqual(before);
      expect(existsSync(path.join(root, 'house-cam7'))).toBe(false);

      // Through the sender: a real failure naming the target and URL, without the token.
      const s = placeSegment(srcRoot, 'cam7', start);
      const err = await uploadToHttpTarget({ ...target(), token: 'wrong-token-0123456789abcdef', url: `http://user:secret@127.0.0.1:${rx.port}` }, {
        absPath: s.abs,
        cameraId: 'cam7',
        fileName: s.name,
        startMs: start.getTime(),
        durationMs: 2000,
      }).then(
        () => new Error('uploaded with a wrong token'),
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(ReplicationRejectedError);
      expect(err.message).toContain('replica "office"');
      expect(err.message).toContain('HTTP 401: missing or unknown bearer token');
      expect(err.message).toContain(`127.0.0.1:${rx.port}/api/replica/segments/cam7/`);
      expect(err.message).not.toContain('wrong-token');
      expect(err.message).not.toContain('secret');
      expect(tree(root)).toEqual(before);
    });

    it('refuses paths that could leave the recordings folder', async () => {
      const outsideBefore = readdirSync(tmp.dir).sort();
      const before = tree(root);
      const body = readFileSync(seg2s);
      const name = segmentFileName('cam1', new Date(start.getTime() + 60_000));
      const evil = [
        `/api/replica/segments/..%2f..%2fetc/${name}`,
        `/api/replica/segments/cam1/..%2F..%2F${name}`,
        `/api/replica/segments/cam1/%2e%2e%2f%2e%2e%2f${name}`,
        `/api/replica/segments/%2e%2e/${name}`,
        `/api/replica/segments/cam1/..\\..\\${name}`,
        `/api/replica/segments/cam1\\..\\../${name}`,
        `/api/replica/segments/cam1/%2Fetc%2F${name}`,
        `/api/replica/segments/cam1/${name}%00.txt`,
        `/api/replica/segments/cam1/${name.replace('.mp4', '%00.mp4')}`,
        `/api/replica/segments/cam1/../../../${name}`,
        `/api/replica/segments/cam1/${segmentFileName('cam2', start)}`, // another camera's name
        `/api/replica/segments/CAM1/${name}`,
        `/api/replica/segments/cam1/notes.txt`,
        `/api/replica/segments/${'a'.repeat(60)}/${segmentFileName('a'.repeat(60), start)}`, // prefix + id longer than 64
      ];
      for (const p of evil) {
        const res = await raw(rx.port, 'PUT', p, putHeaders(body), body);
        expect([400, 404], `${p} → ${res.status} ${res.body}`).toContain(res.status);
      }
      expect(tree(root)).toEqual(before);
      expect(readdirSync(tmp.dir).sort()).toEqual(outsideBefore);
      expect(existsSync('/etc/' + name)).toBe(false);
    });

    it('rejects a hash mismatch, a truncated body, an unplayable file and an oversized one, leaving nothing', async () => {
      const before = tree(root);
      const body = readFileSync(seg2s);
      const name = segmentFileName('cam3', start);
      const p = urlPath('cam3', name);

      const bad = await raw(rx.port, 'PUT', p, putHeaders(body, TOKEN, '0'.repeat(64)), body);
      expect(bad.status).toBe(422);
      expect(JSON.parse(bad.body).error).toContain('sha256 mismatch');

      await truncatedPut(rx.port, p, body, Math.floor(body.length / 2));
      await new Promise((r) => setTimeout(r, 200));

      const junk = Buffer.alloc(5000, 7);
      const unplayable = await raw(rx.port, 'PUT', p, putHeaders(junk), junk);
      expect(unplayable.status).toBe(422);
      expect(JSON.parse(unplayable.body).error).toContain('not a playable MP4');

      const big = Buffer.alloc(2_000_001);
      const tooBig = await raw(rx.port, 'PUT', p, putHeaders(big), big);
      expect(tooBig.status).toBe(413);

      // Through the sender: an early 413 is a refusal, not "target down".
      const huge = placeSegment(srcRoot, 'cam3', new Date(start.getTime() + 4000));
      writeFileSync(huge.abs, Buffer.alloc(3_000_000, 1));
      const e413 = await uploadToHttpTarget(target(), { absPath: huge.abs, cameraId: 'cam3', fileName: huge.name, startMs: 0, durationMs: 0 }).then(
        () => new Error('uploaded'),
        (e: unknown) => e as Error,
      );
      expect(e413).toBeInstanceOf(ReplicationRejectedError);
      expect(e413.message).toContain("larger than the receiver's receive.maxBytes (2000000)");
      // Even without that hint an early 413 reaches the sender as the answer, not as a broken pipe.
      const bigBody = readFileSync(huge.abs);
      const direct = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: rx.port, path: urlPath('cam3', huge.name), method: 'PUT', headers: putHeaders(bigBody), agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        const chunk = 256 * 1024;
        const write = (off: number): void => {
          if (off >= bigBody.length) return void req.end();
          if (req.write(bigBody.subarray(off, off + chunk))) setImmediate(() => write(off + chunk));
          else req.once('drain', () => write(off + chunk));
        };
        write(0);
      });
      expect(direct).toBe(413);

      const noHash = putHeaders(body);
      delete (noHash as Partial<typeof noHash>)['x-content-sha256'];
      expect((await raw(rx.port, 'PUT', p, noHash, body)).status).toBe(400);

      expect(tree(root)).toEqual(before.filter((f) => !f.startsWith('house-cam3/')));
      expect(tree(root).some((f) => f.includes('.partial-'))).toBe(false);
      expect(await rx.index.get('house-cam3', `house-cam3/${dayFolderName(start)}/${segmentFileName('house-cam3', start)}`)).toBeUndefined();
    });

    it('two identical uploads at once leave exactly one file', async () => {
      const body = readFileSync(seg2s);
      const s = new Date(start.getTime() + 120_000);
      const name = segmentFileName('cam4', s);
      const answers = await Promise.all([1, 2, 3].map(() => raw(rx.port, 'PUT', urlPath('cam4', name), putHeaders(body), body)));
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      expect(answers.every((a) => a.status === 200 || a.status === 201)).toBe(true);
      const dir = path.join(root, 'house-cam4', dayFolderName(s));
      expect(readdirSync(dir)).toEqual([segmentFileName('house-cam4', s)]);
      expect((await rx.index.stats('house-cam4')).count).toBe(1);
    });
  });

  it('receiving endpoint: a segment stored while the index cannot be written is answered 503, and the next HEAD indexes it', async () => {
    const prefix = prefixFor('recv-noindex');
    const root = path.join(tmp.dir, 'recv-noindex');
    mkdirSync(root, { recursive: true });
    const rx = makeReceiver(redis, prefix, root);
    await rx.start();
    try {
      const start = new Date(Math.floor(now / 1000) * 1000 - 20 * 60_000);
      const s = placeSegment(path.join(tmp.dir, 'recv-noindex-src'), 'cam1', start);
      const target: HttpReplica = { id: 'office', type: 'http', url: `http://127.0.0.1:${rx.port}`, token: TOKEN, retention: {}, alertAfterSeconds: 300, live: true };
      const seg = { absPath: s.abs, cameraId: 'cam1', fileName: s.name, startMs: start.getTime(), durationMs: 2000 };
      const rel = `house-cam1/${dayFolderName(start)}/${segmentFileName('house-cam1', start)}`;
      rx.failIndex = true;
      const err = await uploadToHttpTarget(target, seg).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(TargetDownError);
      expect(err!.message).toContain('HTTP 503: stored but not indexed: index unreachable');
      expect(tree(root)).toEqual([rel]);
      expect(await rx.index.get('house-cam1', rel)).toBeUndefined();
      rx.failIndex = false;
      expect((await uploadToHttpTarget(target, seg)).outcome).toBe('already');
      expect(await rx.index.get('house-cam1', rel)).toMatchObject({ file: rel, status: 'ok', host: 'replica:house', durationMs: 2000, bytes: statSync(s.abs).size });
      expect(tree(root)).toEqual([rel]);
    } finally {
      await rx.stop();
    }
  });

  it('http target: a silent server, a refused connection and a 503 are "down", with the URL but no secrets', async () => {
    const root = path.join(tmp.dir, 'silent-src');
    const start = new Date(Math.floor(now / 1000) * 1000 - 60_000);
    const s = placeSegment(root, 'cam1', start);
    const silent = net.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const busy = http.createServer((_req, res) => void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"restarting"}'));
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const closedPort = await new Promise<number>((r) => {
      const t = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (t.address() as net.AddressInfo).port;
        t.close(() => r(p));
      });
    });
    const seg = { absPath: s.abs, cameraId: 'cam1', fileName: s.name, startMs: start.getTime(), durationMs: 2000 };
    const target = (port: number): HttpReplica => ({ id: 'far', type: 'http', url: `http://me:pw-secret@127.0.0.1:${port}`, token: TOKEN, retention: {}, alertAfterSeconds: 300, live: true });
    const attempt = (port: number) =>
      uploadToHttpTarget(target(port), seg, { idleTimeoutMs: 300, connectTimeoutMs: 1000 }).then(
        () => new Error('uploaded'),
        (e: unknown) => e as Error,
      );
    try {
      const t0 = performance.now();
      const idle = await attempt((silent.address() as net.AddressInfo).port);
      expect(performance.now() - t0).toBeLessThan(2000);
      const refused = await attempt(closedPort);
      const unavailable = await attempt((busy.address() as net.AddressInfo).port);
      expect(idle.message).toContain('no progress for 300 ms');
      expect(refused.message).toContain('ECONNREFUSED');
      expect(unavailable.message).toContain('HTTP 503');
      for (const e of [idle, refused, unavailable]) {
        expect(e).toBeInstanceOf(TargetDownError);
        expect(e.message).toContain('replica "far" (HEAD http://***@127.0.0.1:');
        expect(e.message).not.toMatch(/pw-secret|good-token/);
      }
    } finally {
      silent.close();
      busy.close();
    }
  });

  it('processor: skips what needs no copy, maps down / refused / gone', async () => {
    const root = path.join(tmp.dir, 'proc-src');
    const nas = path.join(tmp.dir, 'proc-nas');
    mkdirSync(nas, { recursive: true });
    const config = parseConfig(
      `recordingsDir: ${root}\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\n  - { id: cam2, url: "rtsp://u:p@cam/2" }\nreplicas:\n  - { id: nas, type: directory, path: ${nas}, cameras: [cam1], retention: { maxAge: 1h } }\n`,
      '/etc/sender.yml',
      {},
    );
    const health = new TargetHealth();
    const ctx = { getConfig: () => config, health, logger: quiet };
    const start = new Date(Math.floor(now / 1000) * 1000 - 10 * 60_000);
    const s = placeSegment(root, 'cam1', start);
    const job = (over: Partial<ReplicateJobData> = {}): ReplicateJobData => ({ targetId: 'nas', cameraId: 'cam1', file: s.rel, startMs: start.getTime(), durationMs: 2000, bytes: 1, host: 'h', ...over });

    expect(await processReplicate(ctx, job({ targetId: 'gone' }))).toEqual({ outcome: 'target removed' });
    expect(await processReplicate(ctx, job({ cameraId: 'cam2' }))).toEqual({ outcome: 'skipped: camera not replicated' });
    expect(await processReplicate(ctx, job({ startMs: now - 2 * HOUR }))).toEqual({ outcome: 'skipped: older than retention' });
    expect(await processReplicate(ctx, job({ file: `cam1/${dayFolderName(start)}/${segmentFileName('cam1', new Date(start.getTime() + 2000))}` }))).toEqual({ outcome: 'skipped: source gone' });
    await expect(processReplicate(ctx, job({ file: '../../etc/cam1-20260101T000000Z.mp4' }))).rejects.toThrow(/not a segment file/);
    const ok = await processReplicate(ctx, job());
    expect(ok.outcome).toBe('copied');
    expect((await processReplicate(ctx, job())).outcome).toBe('already');
    expect(health.get('nas').up).toBe(true);

    const states: Array<[string, TargetState]> = [];
    const h2 = new TargetHealth((id, st) => states.push([id, st]));
    const unmounted = { ...config, replicas: [{ ...(config.replicas[0] as DirectoryReplica), path: path.join(tmp.dir, 'nope') }] };
    const err = await processReplicate({ getConfig: () => unmounted, health: h2, logger: quiet }, job()).then(
      () => Object.assign(new Error('copied to an unmounted target'), { delayMs: -1 }),
      (e: unknown) => e as Error & { delayMs: number },
    );
    expect(err.constructor.name).toBe('TargetDownSignal');
    expect(err.delayMs).toBe(1000);
    expect(states).toEqual([['nas', expect.objectContaining({ up: false, downSince: expect.any(Number), lastError: expect.stringContaining('does not exist') })]]);
  });

  it('full flow through BullMQ: a target down while 5 segments wait; newest arrives first, nothing duplicated or failed', async () => {
    const prefix = prefixFor('flow');
    const rxRoot = path.join(tmp.dir, 'flow-rx');
    const root = path.join(tmp.dir, 'flow-src');
    mkdirSync(rxRoot, { recursive: true });
    const rx = makeReceiver(redis, prefix, rxRoot);
    const port = await rx.start();
    await rx.stop(); // the target is down
    const config = parseConfig(
      `recordingsDir: ${root}\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\nreplicas:\n  - { id: office, type: http, url: "http://127.0.0.1:${port}", token: ${TOKEN}, retention: { maxAge: 1d } }\n`,
      '/etc/sender.yml',
      {},
    );
    const base = Math.floor(now / 1000) * 1000 - 20 * 60_000;
    const segs = [0, 1, 2, 3, 4].map((i) => placeSegment(root, 'cam1', new Date(base + i * 2000)));
    const queues = replicateQueues(redis, prefix, config.storage, 'host-a');
    for (const [i, s] of segs.entries()) {
      await enqueueReplicas({ queues: (id) => queues.get(id), config, cameraId: 'cam1', segment: { file: s.rel, startMs: base + i * 2000, durationMs: 2000, bytes: statSync(s.abs).size, host: 'host-a' } });
    }
    // The same segment again: deduplicated by the job id.
    await enqueueReplicas({ queues: (id) => queues.get(id), config, cameraId: 'cam1', segment: { file: segs[4]!.rel, startMs: base + 8000, durationMs: 2000, bytes: 1, host: 'host-a' } });
    const q = queues.get('office');
    expect(q.name).toBe(replicateQueueName('office', 'shared', 'host-a'));
    expect(await q.getWaitingCount()).toBe(5);
    const job4 = await q.getJob(replicateJobId('office', 'cam1', segs[4]!.name));
    expect(JSON.stringify(job4!.data)).not.toContain(TOKEN);
    expect(JSON.stringify(job4!.data)).not.toContain('127.0.0.1');
    expect(job4!.opts.lifo).toBe(true);

    const transitions: Array<[string, boolean]> = [];
    const blocking = createRedis(REDIS_URL, { blocking: true });
    const workers = await startReplicationWorkers({
      blocking,
      redis,
      prefix,
      getConfig: () => config,
      hostname: 'host-a',
      logger: quiet,
      pollMs: 0,
      onTargetState: (id, st) => transitions.push([id, st.up]),
    });
    try {
      await waitFor('the target marked down', () => workers.states().office?.up === false, 10_000, 50);
      await new Promise((r) => setTimeout(r, 2500)); // a few probes (1 s, 2 s backoff)
      expect(await q.getFailedCount()).toBe(0);
      expect(await q.getCompletedCount()).toBe(0);
      // Still waiting, newest at the head (the end jobs are taken from).
      const order = (await q.getJobs(['waiting', 'active'], 0, -1, true)).map((j) => j.data.startMs);
      expect(order).toHaveLength(5);
      expect([...order].sort((a, b) => b - a)).toEqual(order);
      const status = await replicationStatus(redis, prefix, config, 'host-a');
      expect(status[0]).toMatchObject({ id: 'office', type: 'http', waiting: 5, failed: 0, up: false, oldestWaitingStartMs: base, oldestWaitingFile: segs[0]!.rel });
      expect(status[0]!.lastError).toContain('unreachable');
      const attempts = (await q.getJobs(['waiting'])).map((j) => j.attemptsMade);
      expect(attempts.every((a) => a === 0)).toBe(true);

      const upAt = performance.now();
      await rx.start(port);
      await waitFor('5 segments stored', async () => (await q.getCompletedCount()) === 5, 40_000, 100);
      console.log(`after the target came back: 5 segments replicated in ${(performance.now() - upAt).toFixed(0)} ms; arrival order ${rx.stored.map((n) => n.slice(-12, -5)).join(', ')}`);
      expect(rx.stored[0]).toBe(segs[4]!.name);
      expect(rx.stored).toHaveLength(5);
      expect(new Set(rx.stored).size).toBe(5);
      expect(rx.stored.slice(-2)).toContain(segs[0]!.name);
      expect(await q.getFailedCount()).toBe(0);
      expect(tree(path.join(rxRoot, 'house-cam1'))).toHaveLength(5);
      expect((await rx.index.stats('house-cam1')).count).toBe(5);
      expect(transitions).toEqual([
        ['office', false],
        ['office', true],
      ]);
      const after = await replicationStatus(redis, prefix, config, 'host-a');
      expect(after[0]).toMatchObject({ waiting: 0, active: 0, failed: 0, completed: 5, up: true });
      expect(after[0]!.lastSuccessMs).toBeGreaterThan(now);
      const results = (await q.getJobs(['completed'])).map((j) => j.returnvalue.outcome);
      expect(results).toEqual(['copied', 'copied', 'copied', 'copied', 'copied']);

      // A wrong token is a real failure (one attempt), with a clear message and no token in it.
      config.replicas[0] = { ...(config.replicas[0] as HttpReplica), token: 'wrong-token-0123456789abcdef' };
      const late = placeSegment(root, 'cam1', new Date(base + 10_000));
      await enqueueReplicas({ queues: (id) => queues.get(id), config, cameraId: 'cam1', segment: { file: late.rel, startMs: base + 10_000, durationMs: 2000, bytes: 1, host: 'host-a' } });
      await waitFor('the job failed', async () => (await q.getFailedCount()) === 1, 10_000, 100);
      const [failed] = await q.getJobs(['failed']);
      expect(failed!.attemptsMade).toBe(1);
      expect(failed!.failedReason).toContain('HTTP 401: missing or unknown bearer token');
      expect(failed!.failedReason).not.toContain('wrong-token');
    } finally {
      await workers.close();
      await queues.close();
      await blocking.quit();
      await rx.stop();
    }
  });

  it('a segment the target keeps answering 5xx for does not hold up the queue', async () => {
    const prefix = prefixFor('poison');
    const rxRoot = path.join(tmp.dir, 'poison-rx');
    const root = path.join(tmp.dir, 'poison-src');
    mkdirSync(rxRoot, { recursive: true });
    const base = Math.floor(now / 1000) * 1000 - 10 * 60_000;
    const segs = [0, 1, 2].map((i) => placeSegment(root, 'cam1', new Date(base + i * 2000)));
    const rx = makeReceiver(redis, prefix, rxRoot, { failName: segs[1]!.name });
    const port = await rx.start();
    const config = parseConfig(
      `recordingsDir: ${root}\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\nreplicas:\n  - { id: office, type: http, url: "http://127.0.0.1:${port}", token: ${TOKEN} }\n`,
      '/etc/sender.yml',
      {},
    );
    const queues = replicateQueues(redis, prefix, config.storage, 'h');
    const add = (i: number) =>
      enqueueReplicas({ queues: (id) => queues.get(id), config, cameraId: 'cam1', segment: { file: segs[i]!.rel, startMs: base + i * 2000, durationMs: 2000, bytes: 1, host: 'h' } });
    const blocking = createRedis(REDIS_URL, { blocking: true });
    const workers = await startReplicationWorkers({
      blocking, redis, prefix, getConfig: () => config, hostname: 'h', logger: quiet, pollMs: 0,
      downBackoff: { minMs: 50, maxMs: 100 }, poisonAfterStarts: 5,
    });
    try {
      await add(0);
      await add(1); // answered 500 every time
      await waitFor('segment 0 stored', () => rx.stored.includes(segs[0]!.name), 10_000, 50);
      const q = queues.get('office');
      const bad = replicateJobId('office', 'cam1', segs[1]!.name);
      await waitFor('the broken segment moved out of the way', async () => (await q.getJobState(bad)) === 'delayed', 15_000, 50);
      const job = await q.getJob(bad);
      expect(job!.attemptsMade).toBe(1);
      expect(job!.failedReason).toMatch(/HTTP 500.*tried 5 times/);
      await add(2);
      await waitFor('segment 2 stored behind it', () => rx.stored.includes(segs[2]!.name), 10_000, 50);
      expect(await q.getFailedCount()).toBe(0);
    } finally {
      await workers.close();
      await queues.close();
      await blocking.quit();
      await rx.stop();
    }
  });

  it('directory target through BullMQ, with its ring buffer', async () => {
    const prefix = prefixFor('dirflow');
    const root = path.join(tmp.dir, 'dirflow-src');
    const nas = path.join(tmp.dir, 'dirflow-nas');
    mkdirSync(nas, { recursive: true });
    const config = parseConfig(
      `recordingsDir: ${root}\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\nreplicas:\n  - { id: nas, type: directory, path: ${nas}, retention: { maxAge: 2h } }\n`,
      '/etc/sender.yml',
      {},
    );
    // An old copy already on the NAS: pruned after the next copy.
    const stale = placeSegment(nas, 'cam1', new Date(now - 5 * HOUR), seg1s);
    const s = placeSegment(root, 'cam1', new Date(Math.floor(now / 1000) * 1000 - 60_000));
    const blocking = createRedis(REDIS_URL, { blocking: true });
    const workers = await startReplicationWorkers({ blocking, redis, prefix, getConfig: () => config, hostname: 'h', logger: quiet, pollMs: 0 });
    const queues = replicateQueues(redis, prefix, config.storage, 'h');
    try {
      await enqueueReplicas({ queues: (id) => queues.get(id), config, cameraId: 'cam1', segment: { file: s.rel, startMs: now - 60_000, durationMs: 2000, bytes: 1, host: 'h' } });
      await waitFor('copied', () => existsSync(path.join(nas, s.rel)), 10_000, 50);
      await waitFor('pruned', () => !existsSync(stale.abs), 10_000, 50);
      expect(sha256(path.join(nas, s.rel))).toBe(sha256(s.abs));
      // Target removed from the config: its worker goes.
      config.replicas = [];
      await workers.sync();
      expect(workers.queues()).toEqual([]);
      const q = new Queue(replicateQueueName('nas', 'shared', 'h'), { connection: redis, prefix });
      expect((await q.getJobs(['completed']))[0]?.name).toBe(REPLICATE_JOB_NAME);
      await q.close();
    } finally {
      await workers.close();
      await queues.close();
      await blocking.quit();
    }
  });
});
