import os from 'node:os';
import { isPlayable } from '@tapo/segment-lifecycle';
import { createHash } from 'node:crypto';
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { decodeReport } from '@tapo/ffmpeg';
import { classifyMp4 } from '@tapo/mp4';
import type { SegmentIndex } from '@tapo/segment-index';
import { KeyedMutex, fsyncDir, partialPathFor, placeNoClobber, regularFileSize, removeStalePartials, sha256File, unlinkQuiet } from '@tapo/durable-file';
import { RECEIVE_PATH, REPLICA_HEADERS } from '@tapo/replica-protocol';
import { matchBearer, receiveTarget, suspiciousRawPath, type ReceiveTarget } from './receive-auth.js';
import { liveFileFor, mountLiveReceive } from './live-receive.js';

/** A received segment, stored in place and ready to be indexed. */
export interface StoredSegment {
  cameraId: string;
  /** Relative to recordingsDir. */
  file: string;
  /** `replica:<token id>`; with storage: local this machine's name (so that its own prune and repair reach the file). */
  host: string;
  startMs: number;
  /** 0 when the sender did not know. */
  durationMs: number;
  bytes: number;
}

export interface ReceiveRouterOptions {
  /** The live config: receive.tokens, receive.maxBytes, recordingsDir, cameras. */
  getConfig(): Pick<RecorderConfig, 'receive' | 'recordingsDir' | 'cameras'> & Partial<Pick<RecorderConfig, 'storage'>>;
  /** Read only: is a stored file indexed yet (HEAD indexes one that is not). */
  index: Pick<SegmentIndex, 'get'>;
  /**
   * Indexes a stored segment; throws when it cannot (the upload is then
   * answered 503 "stored but not indexed" and the sender's retry indexes it).
   */
  onStored(seg: StoredSegment): Promise<void>;
  logger: Logger;
  /** This machine's name: with storage: local, received segments are indexed under it, so this host's prune and repair reach them. */
  hostname?: string;
  /** Silence after which a live (still growing) segment is stored as it is. Default: receive.liveIdleSeconds. */
  liveIdleMs?: number;
}

/** The receive router, with a close() for its live-segment timer. */
export type ReceiveRouter = Router & { close(): void; finishIdleLive(now?: number): Promise<number> };


const SHA256 = /^[0-9a-f]{64}$/;
const ROUTE = `${RECEIVE_PATH}/:camera/:file`;
const MAX_DURATION_MS = 24 * 3600_000;
/** Bodies up to this size are read and dropped before an early answer (see json()). */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/** An error's message, led by its code (ENOSPC, EACCES...) when the message does not say it. */
function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
}

/** X-Segment-Duration-Ms, when it is a sane number (else 0: unknown). */
function durationFrom(req: Request): number {
  const d = Number(req.headers[REPLICA_HEADERS.durationMs]);
  return Number.isFinite(d) && d >= 0 && d <= MAX_DURATION_MS ? Math.round(d) : 0;
}

class UploadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Receiving side of `replicas: [{ type: http }]`, for the board app:
 *
 *   HEAD /api/replica/segments/:camera/:file  → 200 (X-Content-SHA256, Content-Length) | 404 (X-Receive-Max-Bytes)
 *   PUT  /api/replica/segments/:camera/:file  → 201 stored | 200 already there
 *
 * Authorization: Bearer <one of receive.tokens> (else 401 before anything is
 * written). The file is stored as <recordingsDir>/<prefix+camera>/<day>/<name>
 * (renamed to the stored camera id), streamed to a dot-temp file, checked
 * (Content-Length, X-Content-SHA256, receive.maxBytes, playable MP4), then
 * linked into place (never over an existing file) and handed to `onStored`
 * with host `replica:<token id>` (storage: local: this machine's name, so that
 * its own prune and repair jobs reach the file). Mount it before any auth or
 * body parser of the board (it has its own auth and reads the raw body).
 */
export function createReceiveRouter(options: ReceiveRouterOptions): ReceiveRouter {
  const r = express.Router() as ReceiveRouter;
  const lock = new KeyedMutex();
  const hashCache = new Map<string, string>();
  const lastSweep = new Map<string, number>();

  /**
   * Sends a small JSON answer. An answer before the body was read: Node would
   * close the connection under the sender, which then sees a broken pipe
   * instead of the answer; so a body of a sane size is read and dropped first
   * (nothing is written). Unauthenticated or oversized bodies: answer and close.
   */
  const json = (req: Request, res: Response, status: number, body: Record<string, unknown>, close = false) => {
    if (res.headersSent) return;
    // The reason also as a header: a HEAD answer has no body.
    if (typeof body.error === 'string') res.setHeader(REPLICA_HEADERS.error, body.error.replace(/[^\x20-\x7e]/g, '?').slice(0, 300));
    const send = () => {
      if (!res.headersSent && !res.writableEnded) res.status(status).json(body);
    };
    if (req.method !== 'PUT' || req.complete || req.readableEnded) return send();
    const len = Number(req.headers['content-length']);
    if (close || req.destroyed || !Number.isFinite(len) || len > DRAIN_MAX_BYTES) {
      res.setHeader('Connection', 'close');
      return send();
    }
    req.on('error', () => {});
    req.once('end', send);
    req.resume();
  };

  /** sha256 of a stored file, cached by path + size + mtime. */
  const storedHash = async (abs: string): Promise<{ sha256: string; bytes: number }> => {
    const st = await stat(abs);
    const key = `${abs}|${st.size}|${st.mtimeMs}`;
    let h = hashCache.get(key);
    if (!h) {
      h = (await sha256File(abs)).sha256;
      if (hashCache.size > 2000) hashCache.clear();
      hashCache.set(key, h);
    }
    return { sha256: h, bytes: st.size };
  };

  /** Auth + path checks shared by HEAD and PUT. Sends the error answer and returns undefined when refused. */
  const admit = (req: Request, res: Response) => {
    const config = options.getConfig();
    const token = matchBearer(req.headers.authorization, config.receive.tokens);
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="tapo-recorder replica"');
      json(req, res, 401, { error: config.receive.tokens.length === 0 ? 'this installation accepts no replicas (receive.tokens is empty)' : 'missing or unknown bearer token' }, true);
      return undefined;
    }
    // Authenticated refusals keep the connection: Node reads and drops the rest of the body,
    // so the sender, still writing, gets this answer instead of a broken pipe.
    if (suspiciousRawPath(req.originalUrl)) return void json(req, res, 400, { error: 'invalid path' });
    const t = receiveTarget(config.recordingsDir, token.cameraPrefix, req.params.camera, req.params.file);
    if ('error' in t) return void json(req, res, 400, { error: t.error });
    if (config.cameras.some((c) => c.id === t.cameraId)) {
      json(req, res, 409, { error: `camera "${t.cameraId}" is one of this installation's own cameras: give the sender a cameraPrefix in receive.tokens` });
      return undefined;
    }
    return { config, token, t };
  };

  const stored = async (t: ReceiveTarget, bytes: number, durationMs: number, tokenId: string) => {
    const local = options.getConfig().storage === 'local';
    const host = local ? (options.hostname ?? os.hostname()) : `replica:${tokenId}`;
    await options.onStored({ cameraId: t.cameraId, file: t.rel, host, startMs: t.startMs, durationMs, bytes });
  };

  /**
   * Proof that it plays: our box walk, then ffprobe and a full decode (box framing around garbage,
   * or sample tables that lie, pass the first but not the second). Decode errors in a file that
   * decodes to the end are kept (a camera's Wi-Fi loses packets; the intrusion must still be off-site)
   * and logged; a file with no decodable video is refused.
   */
  const checkPlayable = async (file: string, t: ReceiveTarget, log: Logger): Promise<void> => {
    const c = await classifyMp4(file).catch((e: Error) => ({ kind: 'garbage' as const, reason: e.message }));
    if (!isPlayable(c.kind)) throw new UploadError(422, `not a playable MP4 (${c.kind}): ${c.reason}`);
    const dec = await decodeReport(file, { timeoutMs: 120_000 });
    if (!dec.readable) throw new UploadError(422, `not a playable MP4: ${dec.detail.replaceAll(file, t.fileName)}`);
    if (dec.videoFrames === 0) throw new UploadError(422, 'not a playable MP4: no video frame decodes');
    if (dec.errors.length) log.warn(`${t.rel}: ${dec.errors.length} decode error line(s), kept: ${dec.errors[0]!.slice(0, 200)}`);
  };

  const liveReceive = mountLiveReceive({
    router: r,
    admit: (req, res) => admit(req, res),
    json,
    checkPlayable,
    stored: (t, bytes, durationMs, tokenId) => stored(t, bytes, durationMs, tokenId),
    sha256Of: async (abs) => (await storedHash(abs)).sha256,
    lock,
    logger: options.logger,
    recordingsDir: () => options.getConfig().recordingsDir,
    tokens: () => options.getConfig().receive.tokens,
    idleMs: () => options.liveIdleMs ?? (options.getConfig().receive.liveIdleSeconds ?? 20) * 1000,
  });
  r.close = () => liveReceive.close();
  r.finishIdleLive = (now) => liveReceive.finishIdle(now);

  r.head(ROUTE, async (req, res) => {
    const a = admit(req, res);
    if (!a) return;
    try {
      const size = await regularFileSize(a.t.abs);
      if (size === undefined || size < 0) return void res.status(404).set(REPLICA_HEADERS.maxBytes, String(a.config.receive.maxBytes)).end();
      const { sha256, bytes } = await storedHash(a.t.abs);
      // A file stored while the index was unreachable: index it now (the sender will not PUT again).
      if (!(await options.index.get(a.t.cameraId, a.t.rel).catch(() => undefined))) {
        await stored(a.t, bytes, durationFrom(req), a.token.id).catch(() => {});
      }
      res.status(200).set({ 'Content-Length': String(bytes), [REPLICA_HEADERS.sha256]: sha256, [REPLICA_HEADERS.storedFile]: a.t.rel }).end();
    } catch (e) {
      options.logger.warn({ err: e }, `replica HEAD ${a.t.rel} failed: ${messageOf(e)}`);
      res.status(500).end();
    }
  });

  r.put(ROUTE, async (req, res) => {
    const a = admit(req, res);
    if (!a) return;
    const { config, token, t } = a;
    const lenText = req.headers['content-length'];
    if (typeof lenText !== 'string' || !/^\d{1,15}$/.test(lenText)) return void json(req, res, 411, { error: 'Content-Length is required' }, true);
    const declared = Number(lenText);
    if (declared > config.receive.maxBytes) return void json(req, res, 413, { error: `the segment (${declared} bytes) is larger than receive.maxBytes (${config.receive.maxBytes})` });
    const wantHash = String(req.headers[REPLICA_HEADERS.sha256] ?? '').toLowerCase();
    if (!SHA256.test(wantHash)) return void json(req, res, 400, { error: 'X-Content-SHA256 (64 hex digits) is required' });
    const durationMs = durationFrom(req);
    const log = options.logger.child({ sender: token.id, file: t.rel });

    /**
     * Same name already stored: 200 when it is the same file; a shorter one (a live copy stored when
     * its sender fell silent) may be replaced by the whole file it is the start of; else 409.
     */
    let shorter: { bytes: number; sha256: string } | undefined;
    const existing = async (): Promise<boolean> => {
      const size = await regularFileSize(t.abs);
      if (size === undefined) return false;
      const held = await storedHash(t.abs);
      const same = size === declared && held.sha256 === wantHash;
      if (!same && size < declared) {
        shorter = held;
        return false;
      }
      if (!same) throw new UploadError(409, `a different file is already stored as ${t.rel}`);
      await stored(t, declared, durationMs, token.id).catch((e) => log.warn({ err: e }, `cannot index ${t.rel}: ${messageOf(e)}`));
      json(req, res, 200, { stored: true, already: true, file: t.rel });
      return true;
    };

    let temp: string | undefined;
    try {
      if (await existing()) return;
      await mkdir(path.dirname(t.abs), { recursive: true });
      temp = partialPathFor(t.abs);
      const fh: FileHandle = await open(temp, 'wx');
      const h = createHash('sha256');
      let received = 0;
      try {
        for await (const chunk of req as AsyncIterable<Buffer>) {
          received += chunk.length;
          if (received > config.receive.maxBytes) throw new UploadError(413, `the body is larger than receive.maxBytes (${config.receive.maxBytes})`);
          if (received > declared) throw new UploadError(400, `the body is longer than Content-Length (${declared})`);
          h.update(chunk);
          let off = 0;
          while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        }
        if (received !== declared) throw new UploadError(400, `truncated body: ${received} of ${declared} bytes`);
        const got = h.digest('hex');
        if (got !== wantHash) throw new UploadError(422, `sha256 mismatch: the body hashes to ${got}, X-Content-SHA256 says ${wantHash}`);
        await fh.sync();
      } finally {
        await fh.close().catch(() => {});
      }
      // Proof that it plays: our box walk, then ffprobe and a full decode (box framing around garbage,
      // or sample tables that lie, pass the first but not the second). Decode errors in a file that
      // decodes to the end are kept (a camera's Wi-Fi loses packets; the intrusion must still be off-site)
      // and logged; a file with no decodable video is refused.
      await checkPlayable(temp, t, log);

      const tmp = temp;
      const longer = shorter;
      const placed = await lock.run(t.abs, async () => {
        if (longer) {
          // the stored file must be exactly the start of this one (nothing recorded is lost), then replaced by rename
          const now = await storedHash(t.abs).catch(() => undefined);
          if (!now || now.sha256 !== longer.sha256 || (await sha256File(tmp, { firstBytes: longer.bytes })).sha256 !== longer.sha256) {
            throw new UploadError(409, `a different file is already stored as ${t.rel}`);
          }
          await rename(tmp, t.abs);
          log.info(`${t.rel}: the stored live copy (${longer.bytes} bytes) replaced by the whole segment (${declared} bytes)`);
          await unlinkQuiet(liveFileFor(t.abs));
          return true;
        }
        const ok = await placeNoClobber(tmp, t.abs);
        if (ok) await unlinkQuiet(liveFileFor(t.abs));
        return ok;
      });
      if (!placed) {
        await unlinkQuiet(temp);
        temp = undefined;
        if (await existing()) return;
        throw new UploadError(500, `${t.rel} vanished while it was stored`);
      }
      temp = undefined;
      await fsyncDir(path.dirname(t.abs));
      try {
        await stored(t, declared, durationMs, token.id);
      } catch (e) {
        // The file is safe; the sender retries, and its HEAD indexes it.
        log.warn({ err: e }, `stored ${t.rel} but cannot index it: ${messageOf(e)}`);
        return void json(req, res, 503, { error: `stored but not indexed: ${messageOf(e)}` });
      }
      log.info({ bytes: declared }, `received ${t.rel} from ${token.id} (${declared} bytes)`);
      json(req, res, 201, { stored: true, file: t.rel });
      sweep(path.dirname(t.abs));
    } catch (e) {
      if (temp) await unlinkQuiet(temp);
      if (e instanceof UploadError) {
        log.warn(`replica upload of ${t.rel} from ${token.id} refused (${e.status}): ${e.message}`);
        json(req, res, e.status, { error: e.message });
      } else if (req.destroyed || (e as { code?: string }).code === 'ECONNRESET' || (e as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
        log.warn(`replica upload of ${t.rel} from ${token.id} aborted by the sender: ${messageOf(e)}`);
        json(req, res, 400, { error: 'upload aborted' }, true);
      } else {
        log.error({ err: e }, `replica upload of ${t.rel} from ${token.id} failed: ${messageOf(e)}`);
        json(req, res, 500, { error: `cannot store the segment: ${messageOf(e)}` });
      }
    }
  });

  /** Temp files left by a crash: swept from a day folder at most every 10 minutes. */
  function sweep(dir: string) {
    const now = Date.now();
    if (now - (lastSweep.get(dir) ?? 0) < 600_000) return;
    lastSweep.set(dir, now);
    if (lastSweep.size > 1000) lastSweep.clear();
    void removeStalePartials(dir, 3600_000, now).catch(() => {});
  }

  return r;
}
