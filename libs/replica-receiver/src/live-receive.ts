// Receiving side of live copies: the segment another installation is recording right now arrives
// as appended byte ranges (whole boxes), kept as a hidden `.<name>.live` file beside where the
// finished segment will be, which plays at any moment up to its last fragment. It becomes an
// ordinary stored + indexed segment when the sender finishes it, or when the sender has been
// silent for `idleMs` (it was switched off, unplugged or carried off).
import { mkdir, open, readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response, Router } from 'express';
import type { ReceiveToken } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { KeyedMutex, fsyncDir, placeNoClobber, regularFileSize, sha256File, unlinkQuiet } from '@tapo/durable-file';
import { REPLICA_HEADERS, RECEIVE_PATH } from '@tapo/replica-protocol';
import { receiveTarget, type ReceiveTarget } from './receive-auth.js';
import { checkBoxRun, wholeBoxesLength } from './box-run.js';

/** The hidden file a live segment grows in (not a segment name: scans and the index never see it). */
export function liveFileFor(abs: string): string {
  return path.join(path.dirname(abs), `.${path.basename(abs)}.live`);
}
const LIVE_NAME = /^\.(.+)\.live$/;

/** A live append's body is at most this (the sender sends what it has, in pieces of at most 8 MiB). */
export const MAX_LIVE_APPEND = 16 * 1024 * 1024;

export interface LiveReceiveDeps {
  router: Router;
  /** Auth + path checks of the receive router (sends the refusal itself). */
  admit(req: Request, res: Response): { config: { receive: { maxBytes: number; tokens: ReceiveToken[] } }; token: ReceiveToken; t: ReceiveTarget } | undefined;
  json(req: Request, res: Response, status: number, body: Record<string, unknown>, close?: boolean): void;
  /** Checks that a file plays (throws an UploadError-like error with `status` when not). */
  checkPlayable(file: string, t: ReceiveTarget, log: Logger): Promise<void>;
  /** Indexes a stored segment (throws when it cannot). */
  stored(t: ReceiveTarget, bytes: number, durationMs: number, tokenId: string): Promise<void>;
  sha256Of(abs: string): Promise<string>;
  lock: KeyedMutex;
  logger: Logger;
  recordingsDir(): string;
  tokens(): ReceiveToken[];
  /** Silence after which a live segment is finished by the receiver (read at each check: the live config). */
  idleMs(): number;
}

interface LiveState {
  t: ReceiveTarget;
  tokenId: string;
  lastAt: number;
  durationMs: number;
  /** The file's end was checked for a cut box since this board started. */
  checked: boolean;
}

async function trimToWholeBoxes(file: string, size: number): Promise<number> {
  const fh = await open(file, 'r+');
  try {
    const whole = await wholeBoxesLength(fh, size);
    if (whole < size) {
      await fh.truncate(whole);
      await fh.datasync();
    }
    return whole;
  } finally {
    await fh.close().catch(() => {});
  }
}

class LiveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly held?: number,
  ) {
    super(message);
  }
}

function intHeader(req: Request, name: string): number | undefined {
  const v = req.headers[name];
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}

async function readBody(req: Request, declared: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > declared) throw new LiveError(400, `the body is longer than Content-Length (${declared})`);
    chunks.push(c);
  }
  if (n !== declared) throw new LiveError(400, `truncated body: ${n} of ${declared} bytes`);
  return Buffer.concat(chunks, n);
}

/** Adds POST …/live and …/finish to the receive router; returns a stop function (the idle timer). */
export function mountLiveReceive(d: LiveReceiveDeps): { close(): void; finishIdle(now?: number): Promise<number> } {
  const live = new Map<string, LiveState>();
  const answer = (req: Request, res: Response, status: number, body: Record<string, unknown>) => {
    if (typeof body.held === 'number') res.setHeader(REPLICA_HEADERS.liveHeld, String(body.held));
    d.json(req, res, status, body);
  };

  /** Makes the live file the stored segment (checked, linked into place, indexed). */
  const finalize = async (t: ReceiveTarget, tokenId: string, durationMs: number, why: string): Promise<'stored' | 'already' | 'gone'> => {
    const lf = liveFileFor(t.abs);
    const size = await regularFileSize(lf);
    const log = d.logger.child({ sender: tokenId, file: t.rel });
    if (size === undefined) return 'gone';
    if ((await regularFileSize(t.abs)) !== undefined) {
      await unlinkQuiet(lf);
      return 'already';
    }
    const whole = await trimToWholeBoxes(lf, size);
    await d.checkPlayable(lf, t, log);
    const placed = await placeNoClobber(lf, t.abs);
    if (!placed) {
      await unlinkQuiet(lf);
      return 'already';
    }
    await fsyncDir(path.dirname(t.abs));
    live.delete(t.abs);
    await d.stored(t, whole, durationMs, tokenId);
    log.info({ bytes: whole }, `live copy of ${t.rel} from ${tokenId} stored (${why}, ${whole} bytes)`);
    return 'stored';
  };

  d.router.post(`${RECEIVE_PATH}/:camera/:file/live`, async (req, res) => {
    const a = d.admit(req, res);
    if (!a) return;
    const { config, token, t } = a;
    const offset = intHeader(req, REPLICA_HEADERS.liveOffset);
    const len = intHeader(req, 'content-length');
    if (offset === undefined) return answer(req, res, 400, { error: 'X-Live-Offset (a byte offset) is required' });
    if (len === undefined || len === 0) return answer(req, res, 411, { error: 'Content-Length (> 0) is required' });
    if (len > MAX_LIVE_APPEND) return answer(req, res, 413, { error: `a live append is at most ${MAX_LIVE_APPEND} bytes` });
    if (offset + len > config.receive.maxBytes) return answer(req, res, 413, { error: `the segment would be larger than receive.maxBytes (${config.receive.maxBytes})` });
    const durationMs = Math.min(intHeader(req, REPLICA_HEADERS.durationMs) ?? 0, 24 * 3600_000);
    try {
      const body = await readBody(req, len);
      const result = await d.lock.run(t.abs, async () => {
        const done = await regularFileSize(t.abs);
        if (done !== undefined) return { held: done, final: true };
        const lf = liveFileFor(t.abs);
        let held = (await regularFileSize(lf)) ?? 0;
        // first append since this board started: a crash mid-append may have left a cut box at the end
        if (held > 0 && !live.get(t.abs)?.checked) held = await trimToWholeBoxes(lf, held);
        if (offset > held) throw new LiveError(409, `holds ${held} bytes of ${t.fileName}, the append starts at ${offset}`, held);
        const problem = checkBoxRun(body, offset === 0);
        if (problem) throw new LiveError(422, `not whole MP4 boxes at offset ${offset}: ${problem}`, held);
        const skip = held - offset;
        if (skip < body.length) {
          await mkdir(path.dirname(lf), { recursive: true });
          const fh = await open(lf, held === 0 ? 'w' : 'r+');
          try {
            let off = skip;
            while (off < body.length) off += (await fh.write(body, off, body.length - off, held + off - skip)).bytesWritten;
            await fh.datasync();
          } finally {
            await fh.close().catch(() => {});
          }
          if (held === 0) await fsyncDir(path.dirname(lf));
        }
        const now = Date.now();
        const s = live.get(t.abs);
        live.set(t.abs, { t, tokenId: token.id, lastAt: now, durationMs: Math.max(durationMs, s?.durationMs ?? 0), checked: true });
        return { held: Math.max(held, offset + body.length), final: false };
      });
      answer(req, res, 200, result);
    } catch (e) {
      if (e instanceof LiveError) {
        if (e.status !== 409) d.logger.warn(`live append to ${t.rel} from ${token.id} refused (${e.status}): ${e.message}`);
        return answer(req, res, e.status, { error: e.message, ...(e.held !== undefined ? { held: e.held } : {}) });
      }
      d.logger.error({ err: e }, `live append to ${t.rel} from ${token.id} failed: ${(e as Error).message}`);
      answer(req, res, 500, { error: `cannot store the live append: ${(e as Error).message}` });
    }
  });

  d.router.post(`${RECEIVE_PATH}/:camera/:file/finish`, async (req, res) => {
    const a = d.admit(req, res);
    if (!a) return;
    const { token, t } = a;
    const size = intHeader(req, REPLICA_HEADERS.liveSize);
    const want = String(req.headers[REPLICA_HEADERS.sha256] ?? '').toLowerCase();
    if (size === undefined) return answer(req, res, 400, { error: 'X-Live-Size is required' });
    if (!/^[0-9a-f]{64}$/.test(want)) return answer(req, res, 400, { error: 'X-Content-SHA256 (64 hex digits) is required' });
    const durationMs = Math.min(intHeader(req, REPLICA_HEADERS.durationMs) ?? 0, 24 * 3600_000);
    try {
      const r = await d.lock.run(t.abs, async () => {
        const done = await regularFileSize(t.abs);
        if (done !== undefined) {
          await unlinkQuiet(liveFileFor(t.abs));
          live.delete(t.abs);
          const same = done === size && (await d.sha256Of(t.abs)) === want;
          return same ? { status: 200, body: { stored: true, already: true, file: t.rel, held: done } } : { status: 200, body: { stored: false, final: true, held: done } };
        }
        const lf = liveFileFor(t.abs);
        const held = (await regularFileSize(lf)) ?? 0;
        if (held < size) throw new LiveError(409, `holds ${held} of ${size} bytes: send the rest first`, held);
        if (held > size) await truncate(lf, size);
        const got = (await sha256File(lf)).sha256;
        if (got !== want) {
          // what we hold is not the sender's file: start over (the whole-segment upload is the catch-up)
          await unlinkQuiet(lf);
          live.delete(t.abs);
          throw new LiveError(422, `sha256 mismatch: the live copy hashes to ${got.slice(0, 12)}…, the sender's file to ${want.slice(0, 12)}…; the live copy was dropped`, 0);
        }
        const outcome = await finalize(t, token.id, durationMs, 'finished by the sender');
        return { status: outcome === 'stored' ? 201 : 200, body: { stored: true, already: outcome !== 'stored', file: t.rel, held: size } };
      });
      answer(req, res, r.status, r.body);
    } catch (e) {
      const status = e instanceof LiveError ? e.status : typeof (e as { status?: unknown }).status === 'number' ? (e as { status: number }).status : 500;
      if (status !== 409) d.logger.warn(`live finish of ${t.rel} from ${token.id} refused (${status}): ${(e as Error).message}`);
      answer(req, res, status, { error: (e as Error).message, ...(e instanceof LiveError && e.held !== undefined ? { held: e.held } : {}) });
    }
  });

  /** Finishes the live segments whose sender has been silent for idleMs; returns how many were stored. */
  const finishIdle = async (now = Date.now()): Promise<number> => {
    let n = 0;
    for (const [abs, s] of [...live]) {
      if (now - s.lastAt < d.idleMs()) continue;
      live.delete(abs);
      try {
        const outcome = await d.lock.run(abs, () => finalize(s.t, s.tokenId, s.durationMs, `the sender has been silent for ${Math.round((now - s.lastAt) / 1000)} s`));
        if (outcome === 'stored') n++;
      } catch (e) {
        d.logger.warn({ err: e }, `live copy of ${s.t.rel} from ${s.tokenId} could not be stored: ${(e as Error).message}; left as ${path.basename(liveFileFor(abs))}`);
      }
    }
    return n;
  };

  /** Live files left by a restart of this board: picked up once, finished when silent. */
  const adoptLeftovers = async () => {
    const root = d.recordingsDir();
    const tokens = d.tokens();
    for (const cam of await readdir(root).catch(() => [] as string[])) {
      for (const day of await readdir(path.join(root, cam)).catch(() => [] as string[])) {
        const dir = path.join(root, cam, day);
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const m = LIVE_NAME.exec(name);
          if (!m) continue;
          // the token whose cameraPrefix made this camera id (longest prefix)
          const token = tokens.filter((tk) => cam.startsWith(tk.cameraPrefix)).sort((x, y) => y.cameraPrefix.length - x.cameraPrefix.length)[0];
          if (!token) continue;
          const t = receiveTarget(root, token.cameraPrefix, cam.slice(token.cameraPrefix.length), m[1]!.replace(cam, cam.slice(token.cameraPrefix.length)));
          if ('error' in t || live.has(t.abs)) continue;
          const st = await stat(path.join(dir, name)).catch(() => undefined);
          if (st) live.set(t.abs, { t, tokenId: token.id, lastAt: st.mtimeMs, durationMs: 0, checked: false });
        }
      }
    }
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    timer = setTimeout(() => {
      void finishIdle()
        .catch(() => 0)
        .finally(() => {
          if (!stopped) tick();
        });
    }, Math.min(5000, Math.max(250, d.idleMs() / 4)));
    timer.unref();
  };
  void adoptLeftovers()
    .catch((e: Error) => d.logger.warn(`live copies left by a restart could not be listed: ${e.message}`))
    .finally(() => {
      if (!stopped) tick();
    });
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
    },
    finishIdle,
  };
}
