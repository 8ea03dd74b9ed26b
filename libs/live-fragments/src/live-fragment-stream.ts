// Follows the segment file ffmpeg is writing for one camera and hands its init and every complete
// fragment to the consumers subscribed to it (live view, live replica). Reads only; never waits
// for a consumer; does nothing at all while nobody is subscribed.
import { watch as fsWatch } from 'node:fs';
import { open as fsOpen, stat as fsStat } from 'node:fs/promises';
import path from 'node:path';
import { ConsumerQueue, type ConsumerStats, type Offered, type OfferedInit } from './consumer-queue.js';
import type { LiveConsumer, LiveFragmentEvent, SegmentEndReason } from './events.js';
import { DEFAULT_MAX_FRAGMENT_BYTES, FragmentSplitter, type SplitItem } from './splitter.js';

/** What the stream needs of an open file (node's FileHandle has it). */
export interface LiveFileHandle {
  stat(): Promise<{ size: number; ino: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** The file system calls the stream makes (injectable: tests count them). */
export interface LiveFs {
  open(file: string): Promise<LiveFileHandle>;
  stat(file: string): Promise<{ size: number; ino: number }>;
  /** Change notifications for a file; may throw (the stream then only polls). */
  watch(file: string, onEvent: (event: string) => void, onError: (err: Error) => void): { close(): void };
}

export const nodeLiveFs: LiveFs = {
  open: (file) => fsOpen(file, 'r'),
  stat: (file) => fsStat(file),
  watch(file, onEvent, onError) {
    const w = fsWatch(file, { persistent: false }, (event) => onEvent(event));
    w.on('error', onError);
    return w;
  },
};

/** pino-compatible. */
export interface LiveLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LiveFragmentStreamOptions {
  cameraId: string;
  /** Poll period while following a file (fs.watch misses changes on NFS and some overlays). Default 150 ms. */
  pollMs?: number;
  /** Bound on the keyframe back-buffer (the fragments since the last keyframe). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Default per-consumer queue bound (subscribe can override). Default 8 MiB. */
  maxQueuedBytes?: number;
  /** Largest fragment / box accepted; larger is treated as garbage. Default 32 MiB. */
  maxFragmentBytes?: number;
  /** Use fs.watch for low latency (the poll runs anyway). Default true. */
  watch?: boolean;
  /** How long an opened segment may take to appear on disk. Default 5000 ms. */
  openTimeoutMs?: number;
  /** How long a closed or replaced segment with a cut last box is re-read before giving up on it. Default 1000 ms. */
  endGraceMs?: number;
  logger?: LiveLogger;
  fs?: LiveFs;
}

export interface SubscribeOptions {
  /** Bytes this consumer may have queued before it starts dropping. Default: the stream's maxQueuedBytes. */
  maxQueuedBytes?: number;
}

export interface LiveStreamStats {
  cameraId: string;
  /** The latest segment segmentOpened announced. */
  segment: string | undefined;
  subscribers: number;
  /** Reading files (only while somebody is subscribed). */
  following: boolean;
  /** The file being read and how far. */
  reading: string | undefined;
  position: number | undefined;
  watching: boolean;
  polling: boolean;
  bufferedFragments: number;
  bufferedBytes: number;
  fragments: number;
  errors: number;
  consumers: ConsumerStats[];
}

interface Seg {
  path: string;
  openedAt: number;
  /** Set by segmentClosed / a newer segmentOpened: the file will not grow any more. */
  final: 'closed' | 'switched' | undefined;
  finalAt: number;
}

interface Reader {
  seg: Seg;
  fh: LiveFileHandle | undefined;
  ino: number | undefined;
  splitter: FragmentSplitter;
  watcher: { close(): void } | undefined;
  /** fs.watch reported a rename (the file may be gone): check the path at the next step. */
  checkPath: boolean;
  lastPathCheck: number;
}

interface Sub {
  q: ConsumerQueue;
  /** Has received the back-buffer (false while the stream catches up on the current file). */
  started: boolean;
}

const READ_CHUNK = 256 * 1024;
const PATH_CHECK_MS = 1000;
const MAX_BUFFERED_NOTICES = 4;

/**
 * One camera's live fragments. The worker tells it which file ffmpeg writes (segmentOpened /
 * segmentClosed); consumers subscribe. Without subscribers it only remembers the current file.
 * With subscribers it reads that file from its start (init + fragments back to the last keyframe
 * are replayed to each new consumer), then follows its growth (fs.watch + poll), reading only the
 * appended bytes, and moves to the next file when one is opened, after delivering the last
 * fragments of the old one.
 */
export class LiveFragmentStream {
  readonly cameraId: string;
  private readonly pollMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly maxFragmentBytes: number;
  private readonly useWatch: boolean;
  private readonly openTimeoutMs: number;
  private readonly endGraceMs: number;
  private readonly log: LiveLogger | undefined;
  private readonly fs: LiveFs;

  /** [0] is read first; when nobody is subscribed only the latest is kept. */
  private segs: Seg[] = [];
  private readonly subs = new Set<Sub>();
  private following = false;
  /** Reading what was already on disk when the first consumer subscribed: not delivered, only buffered. */
  private catchingUp = false;
  private reader: Reader | undefined;
  private readBuf: Buffer | undefined;
  private pumping: Promise<void> | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly closing = new Set<Promise<unknown>>();

  /** Back-buffer: the current init, then the fragments since the last keyframe (and a few notices). */
  private buffer: Offered[] = [];
  private bufferBytes = 0;
  private bufferFragments = 0;
  private bufferHasKey = false;
  private bufferNotices = 0;
  private currentInit: OfferedInit | undefined;
  private fragments = 0;
  private errors = 0;

  constructor(opts: LiveFragmentStreamOptions) {
    this.cameraId = opts.cameraId;
    this.pollMs = opts.pollMs ?? 150;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.maxFragmentBytes = opts.maxFragmentBytes ?? DEFAULT_MAX_FRAGMENT_BYTES;
    this.useWatch = opts.watch ?? true;
    this.openTimeoutMs = opts.openTimeoutMs ?? 5000;
    this.endGraceMs = opts.endGraceMs ?? 1000;
    this.log = opts.logger;
    this.fs = opts.fs ?? nodeLiveFs;
  }

  /** ffmpeg opened a new segment file (it is written from now on; the previous one is complete). */
  segmentOpened(file: string): void {
    if (this.closed) return;
    const now = Date.now();
    for (const s of this.segs) if (!s.final) (s.final = 'switched'), (s.finalAt = now);
    const seg: Seg = { path: path.resolve(file), openedAt: now, final: undefined, finalAt: 0 };
    if (this.following) {
      this.segs.push(seg);
      this.kick();
    } else this.segs = [seg];
  }

  /** ffmpeg is writing a segment of this camera here now (opened, not closed or interrupted). */
  get recording(): boolean {
    const last = this.segs[this.segs.length - 1];
    return !this.closed && last !== undefined && !last.final;
  }

  /** ffmpeg closed a segment file: it has its final size. */
  segmentClosed(file: string): void {
    if (this.closed) return;
    const abs = path.resolve(file);
    const seg = this.segs.find((s) => s.path === abs && !s.final);
    if (!seg) return;
    seg.final = 'closed';
    seg.finalAt = Date.now();
    if (this.following) this.kick();
  }

  /**
   * Adds a consumer. It receives the current init, the buffered fragments from the last keyframe
   * on, then every new fragment; see LiveEvent. Returns its unsubscribe function.
   */
  subscribe(consumer: LiveConsumer, opts: SubscribeOptions = {}): () => void {
    if (this.closed) return () => {};
    const sub: Sub = {
      started: false,
      q: new ConsumerQueue(consumer, opts.maxQueuedBytes ?? this.maxQueuedBytes, (err) => {
        this.log?.warn({ camera: this.cameraId, err }, 'live fragment consumer failed: unsubscribed');
        this.unsubscribe(sub);
      }),
    };
    this.subs.add(sub);
    if (!this.following) this.startFollowing();
    if (!this.catchingUp) this.replay(sub);
    return () => this.unsubscribe(sub);
  }

  /** Stops following and drops every consumer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subs) s.q.close();
    this.subs.clear();
    this.stopFollowing();
    await this.pumping;
    await Promise.allSettled([...this.closing]);
  }

  stats(): LiveStreamStats {
    return {
      cameraId: this.cameraId,
      segment: this.segs[this.segs.length - 1]?.path,
      subscribers: this.subs.size,
      following: this.following,
      reading: this.reader?.seg.path,
      position: this.reader?.splitter.position,
      watching: this.reader?.watcher !== undefined,
      polling: this.timer !== undefined,
      bufferedFragments: this.bufferFragments,
      bufferedBytes: this.bufferBytes,
      fragments: this.fragments,
      errors: this.errors,
      consumers: [...this.subs].map((s) => s.q.stats()),
    };
  }

  // --- following -------------------------------------------------------------------------------

  private unsubscribe(sub: Sub): void {
    if (!this.subs.delete(sub)) return;
    sub.q.close();
    if (this.subs.size === 0) this.stopFollowing();
  }

  private startFollowing(): void {
    this.following = true;
    this.segs = this.segs.slice(-1);
    this.readBuf = Buffer.allocUnsafe(READ_CHUNK);
    this.resetBuffer();
    this.currentInit = undefined;
    this.catchingUp = this.segs.length > 0;
    this.kick();
  }

  private stopFollowing(): void {
    this.following = false;
    this.catchingUp = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    const r = this.reader;
    this.reader = undefined;
    if (r) this.release(r);
    this.readBuf = undefined;
    this.resetBuffer();
    this.currentInit = undefined;
    this.segs = this.segs.slice(-1);
  }

  private release(r: Reader): void {
    r.watcher?.close();
    r.watcher = undefined;
    // FileHandle.close waits for a read in flight.
    if (r.fh) this.track(r.fh.close());
    r.fh = undefined;
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => {}).finally(() => this.closing.delete(q));
    this.closing.add(q);
  }

  private kick(): void {
    if (!this.following || this.closed) return;
    if (this.pumping) {
      this.dirty = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.schedule();
    });
  }

  private async pump(): Promise<void> {
    do {
      this.dirty = false;
      try {
        await this.step();
      } catch (e) {
        // step() handles file errors itself: this is a bug, never let it out of the stream
        this.log?.warn({ camera: this.cameraId, err: e }, 'live fragment stream: unexpected error');
        const r = this.reader;
        if (r && this.isCurrent(r)) this.endSegment(r, 'error', `unexpected: ${(e as Error).message}`);
      }
    } while (this.dirty && this.following);
  }

  /** Poll fallback: only while following a file. */
  private schedule(): void {
    if (!this.following || this.closed || this.timer) return;
    if (this.dirty) return this.kick();
    if (this.segs.length === 0) return; // nothing to follow until segmentOpened
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.pollMs);
    this.timer.unref?.();
  }

  private isCurrent(r: Reader): boolean {
    return this.following && this.reader === r;
  }

  /** One look at the file: open it if needed, read what was appended, end it when it is final. */
  private async step(): Promise<void> {
    const seg = this.segs[0];
    if (!seg) return;
    let r = this.reader;
    if (!r || r.seg !== seg) {
      r = { seg, fh: undefined, ino: undefined, splitter: new FragmentSplitter({ maxFragmentBytes: this.maxFragmentBytes }), watcher: undefined, checkPath: false, lastPathCheck: Date.now() };
      this.reader = r;
    }
    if (!r.fh) {
      let fh: LiveFileHandle;
      try {
        fh = await this.fs.open(seg.path);
      } catch (e) {
        if (!this.isCurrent(r)) return;
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !seg.final && Date.now() - seg.openedAt < this.openTimeoutMs) return; // not created yet: the poll retries
        return this.endSegment(r, 'missing', `cannot open the segment: ${(e as Error).message}`);
      }
      if (!this.isCurrent(r)) {
        this.track(fh.close());
        return;
      }
      r.fh = fh;
      this.startWatch(r);
    }
    const finalBefore = seg.final;
    let size: number;
    try {
      const st = await r.fh.stat();
      if (!this.isCurrent(r)) return;
      r.ino ??= st.ino;
      size = st.size;
      const pos = r.splitter.position;
      if (size < pos) return this.endSegment(r, 'truncated', `the file shrank to ${size} bytes after ${pos} were read`);
      while (r.splitter.position < size) {
        const at = r.splitter.position;
        const { bytesRead } = await r.fh.read(this.readBuf!, 0, Math.min(READ_CHUNK, size - at), at);
        if (!this.isCurrent(r)) return;
        if (bytesRead === 0) break; // shrank under us: the next stat says
        this.handle(r, r.splitter.push(this.readBuf!.subarray(0, bytesRead)));
        if (r.splitter.failed !== undefined) return this.endSegment(r, 'error');
      }
    } catch (e) {
      if (!this.isCurrent(r)) return;
      return this.endSegment(r, 'missing', `cannot read the segment: ${(e as Error).message}`);
    }
    if (this.catchingUp) this.finishCatchUp();

    const now = Date.now();
    if (r.checkPath || now - r.lastPathCheck >= PATH_CHECK_MS) {
      r.checkPath = false;
      r.lastPathCheck = now;
      let gone = false;
      try {
        gone = (await this.fs.stat(seg.path)).ino !== r.ino;
      } catch {
        gone = true;
      }
      if (!this.isCurrent(r)) return;
      if (gone) return this.endSegment(r, 'deleted');
    }
    if (finalBefore) {
      // the file had its final size before the stat above: what we read is all there is
      if (!r.splitter.partial || now - seg.finalAt >= this.endGraceMs) this.endSegment(r, finalBefore);
    }
  }

  private startWatch(r: Reader): void {
    if (!this.useWatch) return;
    try {
      r.watcher = this.fs.watch(
        r.seg.path,
        (event) => {
          if (event === 'rename') r.checkPath = true;
          if (this.isCurrent(r)) this.kick();
        },
        (err) => {
          this.log?.debug({ camera: this.cameraId, err }, 'fs.watch failed: polling only');
          r.watcher?.close();
          r.watcher = undefined;
        },
      );
    } catch (err) {
      this.log?.debug({ camera: this.cameraId, err }, 'fs.watch unavailable: polling only');
    }
  }

  private endSegment(r: Reader, reason: SegmentEndReason, error?: string): void {
    const seenAt = Date.now();
    const segment = r.seg.path;
    // the splitter's own errors were emitted where they were found (with their offset)
    if (error !== undefined) this.emitError(segment, undefined, error);
    const incompleteBytes = r.splitter.partial?.bytes ?? 0;
    const bytesRead = r.splitter.position;
    if (reason === 'closed' || reason === 'switched') {
      if (incompleteBytes > 0) this.log?.warn({ camera: this.cameraId, segment, incompleteBytes }, 'live fragments: segment ended with a cut box');
      else this.log?.debug({ camera: this.cameraId, segment, reason, bytesRead }, 'live fragments: segment done');
    } else this.log?.warn({ camera: this.cameraId, segment, reason, bytesRead }, `live fragments: stopped following the segment (${reason})`);
    this.emit({ type: 'segment-end', segment, reason, bytesRead, incompleteBytes, seenAt });
    this.release(r);
    this.reader = undefined;
    if (this.segs[0] === r.seg) this.segs.shift();
    if (this.catchingUp) this.finishCatchUp();
    this.dirty = true;
  }

  private emitError(segment: string, offset: number | undefined, message: string): void {
    this.errors++;
    this.emit({ type: 'error', segment, offset, message, seenAt: Date.now() });
  }

  private finishCatchUp(): void {
    this.catchingUp = false;
    for (const s of this.subs) if (!s.started) this.replay(s);
  }

  private replay(sub: Sub): void {
    sub.started = true;
    for (const ev of this.buffer) sub.q.offer(ev);
  }

  private handle(r: Reader, items: SplitItem[]): void {
    const segment = r.seg.path;
    for (const it of items) {
      const seenAt = Date.now();
      if (it.kind === 'init') {
        const { tracks, videoTrackId, codecs, mimeType, configKey } = it.info;
        this.emit({ type: 'init', segment, bytes: it.bytes, tracks, videoTrackId, codecs, mimeType, reason: 'segment', configKey, seenAt });
      } else if (it.kind === 'fragment') {
        const f = it.info;
        this.fragments++;
        const ev: LiveFragmentEvent = {
          type: 'fragment',
          segment,
          offset: it.offset,
          bytes: it.bytes,
          keyframe: f.keyframe,
          sequence: f.sequence,
          trackId: f.trackId,
          timescale: f.timescale,
          decodeTime: f.decodeTime,
          duration: f.duration,
          decodeTimeMs: (f.decodeTime * 1000) / f.timescale,
          durationMs: (f.duration * 1000) / f.timescale,
          seenAt,
        };
        this.emit(ev);
      } else if (it.kind === 'error') {
        this.log?.warn({ camera: this.cameraId, segment, offset: it.offset, error: it.message }, 'live fragments: not a followable fragmented MP4');
        this.emitError(segment, it.offset, it.message);
      }
    }
  }

  private emit(ev: Offered): void {
    this.remember(ev);
    if (this.catchingUp) return;
    for (const s of this.subs) if (s.started) s.q.offer(ev);
  }

  private resetBuffer(): void {
    this.buffer = [];
    this.bufferBytes = 0;
    this.bufferFragments = 0;
    this.bufferHasKey = false;
    this.bufferNotices = 0;
  }

  /** Keeps the back-buffer: the init, the fragments since the last keyframe, bounded. */
  private remember(ev: Offered): void {
    if (ev.type === 'init') {
      this.currentInit = ev;
      if (this.bufferHasKey) this.buffer.push(ev);
      else {
        this.resetBuffer();
        this.buffer = [ev];
      }
      this.bufferHasKey = false; // fragments after a new init are kept from its first keyframe on
      return;
    }
    if (ev.type === 'fragment') {
      if (!this.currentInit) return;
      const n = ev.bytes.length;
      if (ev.keyframe) {
        this.resetBuffer();
        this.buffer = [this.currentInit, ev];
        this.bufferBytes = n;
        this.bufferFragments = 1;
        this.bufferHasKey = true;
      } else if (this.bufferHasKey) {
        if (this.bufferBytes + n > this.maxBufferedBytes) {
          this.log?.debug({ camera: this.cameraId, bytes: this.bufferBytes + n }, 'live fragments: GOP larger than maxBufferedBytes, back-buffer dropped until the next keyframe');
          this.resetBuffer();
          this.buffer = [this.currentInit];
        } else {
          this.buffer.push(ev);
          this.bufferBytes += n;
          this.bufferFragments++;
        }
      }
      this.bufferNotices = 0;
      return;
    }
    if (this.buffer.length > 0 && this.bufferNotices < MAX_BUFFERED_NOTICES) {
      this.buffer.push(ev);
      this.bufferNotices++;
    }
  }
}
