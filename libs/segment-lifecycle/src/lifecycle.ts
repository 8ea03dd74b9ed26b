import { stat } from 'node:fs/promises';
import path from 'node:path';
import { classifyMp4, type Mp4Classification } from '@tapo/mp4';
import type { SegmentRecord, SegmentStatus } from '@tapo/segment-index';
import { parseSegmentFileName } from '@tapo/storage';
import { isPlayable } from './playable-kind.js';

/** A segment file of one camera, as the index names it. */
export interface SegmentRef {
  cameraId: string;
  /** Relative to recordingsDir. */
  file: string;
  /** The machine whose disk holds it (storage: local) or that wrote it. */
  host: string;
}

/** How a segment became playable. */
export type PlayableHow = 'closed' | 'verified' | 'repaired' | 'received' | 'scanned';

/** What a consumer is handed: a playable, indexed segment. */
export interface PlayableSegment extends SegmentRef {
  startMs: number;
  durationMs: number;
  bytes: number;
  status: 'ok' | 'repaired';
  how: PlayableHow;
}

/**
 * Something done with every playable segment (replication today; events and
 * live copies next). Registered once, at the composition root. A consumer must
 * not be slow: it enqueues work, it does not do it.
 */
export interface SegmentConsumer {
  readonly name: string;
  playable(seg: PlayableSegment): Promise<void> | void;
}

/** What the lifecycle needs of the segment index (SegmentIndex has it). */
export interface IndexWriter {
  upsert(r: SegmentRecord): Promise<unknown>;
  get(cameraId: string, file: string): Promise<SegmentRecord | undefined>;
}

export interface SegmentLifecycleOptions {
  /** The process's one segment index. */
  index: IndexWriter;
  /** The current recordingsDir (config can be reloaded). */
  recordingsDir(): string;
  /** Sends a file that does not play as it is to the verify/repair chain (one job-id scheme: @tapo/queues enqueueVerify). */
  enqueueVerify(ref: SegmentRef, reason: string): Promise<void>;
  logger?: { warn(obj: object, msg: string): void };
  /** The box walk; a test can pass another. */
  classify?(abs: string): Promise<Mp4Classification>;
  /** How many delivered segments are remembered against double delivery. Default 10 000. */
  rememberDelivered?: number;
}

const key = (s: SegmentRef) => `${s.cameraId}\0${s.file}`;

/**
 * The one path every segment takes once it is written: verify → index → the
 * registered consumers. Entry points by origin:
 * - `closed`: ffmpeg closed it (box walk now; a file that does not play goes to the verify job);
 * - `found`: a scan found a file missing from the index (same as closed);
 * - `interrupted`: ffmpeg died while writing it (the verify job decides);
 * - `playable`: a verify job found it plays, a repair fixed it, or a replica
 *   receiver stored and checked it: index it and hand it to the consumers;
 * - `setStatus`: pending / unrecoverable (indexed, not handed on).
 * Each segment reaches each consumer at most once per process (a repaired
 * segment that was already delivered is not delivered again); consumers'
 * failures are logged, never thrown to the caller, and never hold up the others.
 */
export class SegmentLifecycle {
  private readonly consumers: SegmentConsumer[] = [];
  private readonly delivered = new Map<string, true>();
  private readonly remember: number;
  private readonly classify: (abs: string) => Promise<Mp4Classification>;

  constructor(private readonly opts: SegmentLifecycleOptions) {
    this.remember = opts.rememberDelivered ?? 10_000;
    this.classify = opts.classify ?? classifyMp4;
  }

  /** Adds a consumer; returns its removal. */
  register(consumer: SegmentConsumer): () => void {
    this.consumers.push(consumer);
    return () => {
      const i = this.consumers.indexOf(consumer);
      if (i >= 0) this.consumers.splice(i, 1);
    };
  }

  consumerNames(): string[] {
    return this.consumers.map((c) => c.name);
  }

  /** ffmpeg closed a segment. Resolves with the classification (never rejects for a bad file). */
  closed(seg: SegmentRef & { durationMs: number; bytes?: number }): Promise<Mp4Classification> {
    return this.check(seg, 'closed', seg.durationMs, seg.bytes);
  }

  /** A scan found a file the index did not know. */
  found(seg: SegmentRef & { durationMs: number }): Promise<Mp4Classification> {
    return this.check(seg, 'scanned', seg.durationMs);
  }

  /** ffmpeg stopped while writing: the verify job classifies and repairs it. */
  async interrupted(seg: SegmentRef, reason: string): Promise<void> {
    await this.opts.enqueueVerify(seg, reason);
  }

  /**
   * Index a segment known to play (`status` ok, or repaired) and hand it to the
   * consumers. Unknown duration: the index's earlier record says (else 0);
   * unknown size: the file's. Rejects only when the index cannot be written.
   */
  async playable(seg: SegmentRef & { how: PlayableHow; status?: 'ok' | 'repaired'; startMs?: number; durationMs?: number; bytes?: number }): Promise<PlayableSegment> {
    const rec = await this.write(seg, seg.status ?? 'ok');
    const done: PlayableSegment = { cameraId: rec.cameraId, file: rec.file, host: rec.host, startMs: rec.startMs, durationMs: rec.durationMs, bytes: rec.bytes, status: seg.status ?? 'ok', how: seg.how };
    await this.deliver(done);
    return done;
  }

  /** Index a segment that is not (yet) playable: pending (a repair is under way) or unrecoverable. */
  async setStatus(seg: SegmentRef & { durationMs?: number; bytes?: number }, status: Exclude<SegmentStatus, 'ok' | 'repaired'>): Promise<void> {
    await this.write(seg, status);
  }

  private async check(from: SegmentRef, how: PlayableHow, durationMs: number, bytes?: number): Promise<Mp4Classification> {
    const seg: SegmentRef = { cameraId: from.cameraId, file: from.file, host: from.host };
    const c = await this.classify(path.join(this.opts.recordingsDir(), seg.file));
    const size = c.fileBytes || bytes;
    const known = { ...seg, durationMs, ...(size !== undefined ? { bytes: size } : {}) };
    if (isPlayable(c.kind)) await this.playable({ ...known, how, status: 'ok' });
    else {
      await this.setStatus(known, 'pending');
      await this.opts.enqueueVerify(seg, `${how === 'closed' ? 'closed by ffmpeg' : 'found by scan'} but ${c.kind}: ${c.reason}`);
    }
    return c;
  }

  /** The index record: unknown start from the file name, duration from the index's earlier record (else 0), size from the file. */
  private async write(seg: SegmentRef & { startMs?: number; durationMs?: number; bytes?: number }, status: SegmentStatus): Promise<SegmentRecord> {
    const rec: SegmentRecord = {
      cameraId: seg.cameraId,
      file: seg.file,
      startMs: seg.startMs ?? this.startOf(seg.file),
      durationMs: seg.durationMs ?? (await this.opts.index.get(seg.cameraId, seg.file).catch(() => undefined))?.durationMs ?? 0,
      bytes: seg.bytes ?? (await this.sizeOf(seg.file)),
      status,
      host: seg.host,
    };
    await this.opts.index.upsert(rec);
    return rec;
  }

  private async deliver(seg: PlayableSegment): Promise<void> {
    const k = key(seg);
    if (this.delivered.has(k)) return;
    this.delivered.set(k, true);
    if (this.delivered.size > this.remember) this.delivered.delete(this.delivered.keys().next().value!);
    await Promise.all(
      this.consumers.map(async (c) => {
        try {
          await c.playable(seg);
        } catch (e) {
          this.opts.logger?.warn({ err: e, consumer: c.name, cameraId: seg.cameraId, file: seg.file }, `segment consumer ${c.name} failed on ${seg.file}: ${(e as Error).message}`);
        }
      }),
    );
  }

  private startOf(file: string): number {
    return parseSegmentFileName(path.basename(file))?.start.getTime() ?? 0;
  }

  private async sizeOf(file: string): Promise<number> {
    try {
      return (await stat(path.join(this.opts.recordingsDir(), file))).size;
    } catch {
      return 0;
    }
  }
}
