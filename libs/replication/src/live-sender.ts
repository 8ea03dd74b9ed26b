// Sends the segment a camera is recording to one replica target while it is written, fragment by
// fragment (the theft window: what the replica lacks when the recording box vanishes). Fed by the
// camera's live fragment stream, whose events only say how far the file is complete: the bytes
// are read from the file, so a late start, a target that was down or a receiver that restarted
// resume from what the target holds, without a second copy in memory.
import { sha256File } from '@tapo/durable-file';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { LiveEvent } from '@tapo/live-fragments';
import { parseSegmentFileName } from '@tapo/storage';
import { ReplicationRejectedError, TargetDownError, messageOf } from './errors.js';
import { LiveHoleError, type LiveTarget } from './targets/target.js';

/** The file reads the sender makes (injectable for tests). */
export interface LiveFileReader {
  read(file: string, start: number, end: number): Promise<Buffer>;
  sha256(file: string, bytes: number): Promise<string>;
}

export const nodeLiveFileReader: LiveFileReader = {
  async read(file, start, end) {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(end - start);
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
        if (bytesRead === 0) throw new Error(`${file} is shorter than ${end} bytes`);
        got += bytesRead;
      }
      return buf;
    } finally {
      await fh.close().catch(() => {});
    }
  },
  sha256: async (file, bytes) => (await sha256File(file, { firstBytes: bytes })).sha256,
};

export interface LiveSenderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface LiveSenderOptions {
  targetId: string;
  cameraId: string;
  /** The target as the live config has it now; undefined: removed or without live copies (the sender idles). */
  target(): LiveTarget | undefined;
  logger: LiveSenderLogger;
  files?: LiveFileReader;
  now?: () => number;
  /** Largest append. Default 8 MiB. */
  maxChunkBytes?: number;
  /** Wait after a failure: doubles from min to max. Default 1 s → 15 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface LiveSenderStats {
  targetId: string;
  cameraId: string;
  /** How far behind live the target is: age of the oldest complete fragment it does not hold yet (0: none). */
  lagMs: number;
  /** The segment being sent. */
  segment: string | undefined;
  bytesSent: number;
  requests: number;
  /** Since when the counters count (ms since epoch). */
  since: number;
  up: boolean;
  lastError: string | undefined;
  /** Segments left to the whole-segment catch-up (the target was down when they ended). */
  abandoned: number;
}

interface Seg {
  path: string;
  fileName: string;
  startMs: number;
  /** The file holds whole boxes up to here. */
  complete: number;
  durationMs: number;
  /** The target holds this much from the start (as far as we know). */
  sent: number;
  /** No more bytes will come; the whole boxes end at `complete`. */
  ended: boolean;
  done: boolean;
  /** Complete-up-to marks not yet sent, with when they were seen (for the lag). */
  pending: { end: number; seenAt: number }[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

export class LiveSender {
  readonly targetId: string;
  readonly cameraId: string;
  private readonly opts: LiveSenderOptions;
  private readonly files: LiveFileReader;
  private readonly now: () => number;
  private readonly maxChunk: number;
  private segs: Seg[] = [];
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private failures = 0;
  private lastRequestAt = 0;
  private readonly counters = { bytesSent: 0, requests: 0, since: 0, abandoned: 0 };
  private up = true;
  private lastError: string | undefined;

  constructor(opts: LiveSenderOptions) {
    this.opts = opts;
    this.targetId = opts.targetId;
    this.cameraId = opts.cameraId;
    this.files = opts.files ?? nodeLiveFileReader;
    this.now = opts.now ?? Date.now;
    this.maxChunk = opts.maxChunkBytes ?? 8 * 1024 * 1024;
    this.counters.since = this.now();
  }

  /** The live fragment stream's consumer: returns at once (the bytes are read from the file). */
  readonly consume = (ev: LiveEvent): void => {
    if (this.closed) return;
    const seenAt = this.now();
    if (ev.type === 'init') {
      const s = this.seg(ev.segment);
      if (!s) return;
      this.advance(s, ev.bytes.length, seenAt);
    } else if (ev.type === 'fragment') {
      const s = this.seg(ev.segment);
      if (!s) return;
      s.durationMs = Math.max(s.durationMs, ev.decodeTimeMs + ev.durationMs);
      this.advance(s, ev.offset + ev.bytes.length, seenAt);
    } else if (ev.type === 'segment-end') {
      const s = this.segs.find((x) => x.path === ev.segment);
      if (!s) return;
      // whole boxes after the last fragment (ffmpeg's mfra at close) are part of the file too
      if (ev.reason === 'closed' || ev.reason === 'switched') this.advance(s, ev.bytesRead - ev.incompleteBytes, seenAt);
      s.ended = true;
      if (ev.reason !== 'closed' && ev.reason !== 'switched') {
        // deleted, cut or not followable: nothing sound to finish; the whole-segment path decides
        s.done = true;
        s.pending = [];
      }
      this.kick();
    }
  };

  stats(): LiveSenderStats {
    const now = this.now();
    const oldest = this.segs.find((s) => !s.done && s.pending.length > 0)?.pending[0];
    const current = this.segs.findLast((s) => !s.done) ?? this.segs.at(-1);
    return {
      targetId: this.targetId,
      cameraId: this.cameraId,
      lagMs: oldest ? Math.max(0, now - oldest.seenAt) : 0,
      segment: current?.fileName,
      bytesSent: this.counters.bytesSent,
      requests: this.counters.requests,
      since: this.counters.since,
      up: this.up,
      lastError: this.lastError,
      abandoned: this.counters.abandoned,
    };
  }

  /** Waits (at most timeoutMs) until everything known is sent and finished, e.g. the last segment at shutdown. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.closed && this.opts.target() && this.next()) {
      if (Date.now() >= until || !this.up) return false;
      await sleep(50);
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running;
  }

  // ---------------------------------------------------------------------------------------------

  private seg(file: string): Seg | undefined {
    let s = this.segs.find((x) => x.path === file);
    if (s) return s;
    const fileName = path.basename(file);
    const parsed = parseSegmentFileName(fileName);
    if (!parsed || parsed.cameraId !== this.cameraId) return undefined;
    s = { path: file, fileName, startMs: parsed.start.getTime(), complete: 0, durationMs: 0, sent: 0, ended: false, done: false, pending: [] };
    // A newer segment began: older ones still unfinished are left to the whole-segment catch-up when
    // the target is failing (their live copy would only delay the new one's).
    for (const old of this.segs) if (!old.done && (this.failures > 0 || !this.opts.target())) this.abandon(old);
    this.segs.push(s);
    this.segs = this.segs.filter((x) => !x.done).slice(-3);
    return s;
  }

  private abandon(s: Seg): void {
    s.done = true;
    s.pending = [];
    this.counters.abandoned++;
  }

  private advance(s: Seg, end: number, seenAt: number): void {
    if (s.done || end <= s.complete) return;
    s.complete = end;
    if (end > s.sent) s.pending.push({ end, seenAt });
    this.kick();
  }

  private kick(): void {
    if (this.wake) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  private next(): Seg | undefined {
    return this.segs.find((s) => !s.done && (s.sent < s.complete || s.ended));
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const s = this.next();
      const target = this.opts.target();
      if (!s || !target) {
        if (!s) this.segs = this.segs.filter((x) => !x.done || x === this.segs.at(-1));
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      const wait = this.lastRequestAt + target.minIntervalMs - this.now();
      if (wait > 0) {
        await sleep(wait);
        continue; // more may have come meanwhile; re-pick
      }
      try {
        if (s.sent < s.complete) await this.sendSome(target, s);
        else await this.finish(target, s);
        if (!this.up) this.opts.logger.info({ target: this.targetId, camera: this.cameraId }, `live copy to replica "${this.targetId}" of ${this.cameraId}: target back`);
        this.failures = 0;
        this.up = true;
        this.lastError = undefined;
      } catch (e) {
        if (this.closed) return;
        if (e instanceof LiveHoleError) {
          // the target holds less (it restarted, or dropped a copy that did not hash): resend from there
          s.sent = Math.min(e.held, s.complete);
          s.pending = s.pending.filter((p) => p.end > s.sent);
          if (s.pending.length === 0 && s.sent < s.complete) s.pending.push({ end: s.complete, seenAt: this.now() });
          continue;
        }
        if (e instanceof ReplicationRejectedError || !(e instanceof TargetDownError)) {
          this.lastError = messageOf(e);
          this.opts.logger.warn({ target: this.targetId, camera: this.cameraId, file: s.fileName }, `live copy of ${s.fileName} to replica "${this.targetId}" stopped: ${this.lastError} (the closed segment is still sent whole)`);
          this.abandon(s);
          continue;
        }
        this.failures++;
        if (this.up) this.opts.logger.warn({ target: this.targetId, camera: this.cameraId }, `live copy to replica "${this.targetId}" of ${this.cameraId}: ${messageOf(e)}; retrying`);
        this.up = false;
        this.lastError = messageOf(e);
        const min = this.opts.retryMinMs ?? 1000;
        await sleep(Math.min(this.opts.retryMaxMs ?? 15_000, min * 2 ** Math.min(this.failures - 1, 10)));
      }
    }
  }

  /** Where the next append ends: `complete`, or the last box boundary within maxChunk of `sent` (at least one box). */
  private async chunkEnd(s: Seg): Promise<number> {
    if (s.complete - s.sent <= this.maxChunk) return s.complete;
    let at = s.sent;
    while (at < s.complete) {
      const h = await this.files.read(s.path, at, Math.min(at + 16, s.complete));
      let size = h.length >= 8 ? h.readUInt32BE(0) : 0;
      if (size === 1 && h.length >= 16) size = Number(h.readBigUInt64BE(8));
      if (size < 8) return s.complete; // not ours to judge: send it all, the receiver checks
      if (at + size - s.sent > this.maxChunk) return at > s.sent ? at : Math.min(at + size, s.complete);
      at += size;
    }
    return s.complete;
  }

  private async sendSome(target: LiveTarget, s: Seg): Promise<void> {
    const end = await this.chunkEnd(s);
    let bytes: Buffer;
    try {
      bytes = await this.files.read(s.path, s.sent, end);
    } catch (e) {
      throw new Error(`cannot read ${s.fileName}: ${messageOf(e)}`);
    }
    this.lastRequestAt = this.now();
    this.counters.requests++;
    const last = s.ended && end === s.complete;
    const r = await target.append({ cameraId: this.cameraId, fileName: s.fileName, startMs: s.startMs, offset: s.sent, bytes, durationMs: s.durationMs, ...(last ? { last } : {}) });
    this.counters.bytesSent += bytes.length;
    s.sent = Math.max(s.sent, Math.min(r.held, s.complete), end);
    s.pending = s.pending.filter((p) => p.end > s.sent);
    if (r.final) s.done = true;
  }

  private async finish(target: LiveTarget, s: Seg): Promise<void> {
    if (target.finish && s.complete > 0) {
      const sha256 = await this.files.sha256(s.path, s.complete);
      this.lastRequestAt = this.now();
      this.counters.requests++;
      await target.finish({ cameraId: this.cameraId, fileName: s.fileName, startMs: s.startMs, bytes: s.complete, sha256, durationMs: s.durationMs });
    }
    s.done = true;
  }
}
