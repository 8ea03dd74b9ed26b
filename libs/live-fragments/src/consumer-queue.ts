// One consumer's bounded queue and its drop / resync policy. Pure: no files, no timers.
import { eventBytes, type LiveConsumer, type LiveEvent, type LiveInitEvent } from './events.js';

/** Shape of the init the stream offers (reason and configChanged are decided per consumer). */
export type OfferedInit = Omit<LiveInitEvent, 'configChanged'> & { configKey: string };

export type Offered = Exclude<LiveEvent, LiveInitEvent> | OfferedInit;

export interface ConsumerStats {
  queuedBytes: number;
  queuedEvents: number;
  deliveredFragments: number;
  droppedFragments: number;
  droppedBytes: number;
  gaps: number;
  /** Non-keyframe fragments not sent because this consumer was waiting for a keyframe to start on. */
  skippedBeforeKeyframe: number;
}

/**
 * Delivers events to a consumer in order, one at a time (the next waits for the promise the
 * consumer returned). offer() never waits: when the queue holds maxQueuedBytes the consumer is
 * "dropping": every event is dropped (counted) until a keyframe fragment fits again; then it gets a
 * 'gap' notice, the current init (reason 'resync') and that keyframe fragment. After every init it
 * also waits for a keyframe, so what it receives from an init on always decodes.
 */
export class ConsumerQueue {
  private queue: LiveEvent[] = [];
  /** Bytes of queued events plus the one the consumer is processing. */
  private queuedBytes = 0;
  private draining = false;
  private closed = false;
  private needKey = true;
  private lastInit: OfferedInit | undefined;
  private lastConfigKey: string | undefined;
  private dropping: { fragments: number; bytes: number; notices: number; since: number } | undefined;
  private readonly counts = { deliveredFragments: 0, droppedFragments: 0, droppedBytes: 0, gaps: 0, skippedBeforeKeyframe: 0 };

  constructor(
    private readonly consumer: LiveConsumer,
    private readonly maxQueuedBytes: number,
    private readonly onFailure: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): ConsumerStats {
    return { queuedBytes: this.queuedBytes, queuedEvents: this.queue.length, ...this.counts };
  }

  /** Queues (or drops) one event; returns at once. */
  offer(ev: Offered): void {
    if (this.closed) return;
    if (ev.type === 'init') {
      this.lastInit = ev;
      this.needKey = true;
      if (this.dropping) return void this.dropping.notices++;
      if (!this.fits(ev.bytes.length)) return void this.startDropping(0, 1);
      this.pushInit(ev, ev.reason);
      return;
    }
    if (ev.type === 'fragment') {
      const n = ev.bytes.length;
      if (!this.lastInit) return;
      if (this.dropping) {
        if (!ev.keyframe || !this.fits(n)) {
          this.dropping.fragments++;
          this.dropping.bytes += n;
          this.counts.droppedFragments++;
          this.counts.droppedBytes += n;
          return;
        }
        const d = this.dropping;
        this.dropping = undefined;
        this.counts.gaps++;
        this.push({ type: 'gap', droppedFragments: d.fragments, droppedBytes: d.bytes, droppedNotices: d.notices, since: d.since, seenAt: this.now() });
        this.pushInit(this.lastInit, 'resync');
        this.needKey = false;
        this.counts.deliveredFragments++;
        this.push(ev);
        return;
      }
      if (this.needKey) {
        if (!ev.keyframe) return void this.counts.skippedBeforeKeyframe++;
        this.needKey = false;
      }
      if (!this.fits(n)) {
        this.counts.droppedFragments++;
        this.counts.droppedBytes += n;
        return this.startDropping(n, 0, 1);
      }
      this.counts.deliveredFragments++;
      this.push(ev);
      return;
    }
    if (this.dropping) return void this.dropping.notices++;
    if (!this.fits(eventBytes(ev))) return this.startDropping(0, 1);
    this.push(ev);
  }

  /** Stops delivering; what is queued is dropped. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private fits(n: number): boolean {
    return this.queuedBytes === 0 || this.queuedBytes + n <= this.maxQueuedBytes;
  }

  private startDropping(bytes: number, notices: number, fragments = 0): void {
    this.dropping = { fragments, bytes, notices, since: this.now() };
    this.needKey = true;
  }

  private pushInit(init: OfferedInit, reason: LiveInitEvent['reason']): void {
    const { configKey, ...rest } = init;
    const first = this.lastConfigKey === undefined;
    const ev: LiveInitEvent = { ...rest, reason: first ? 'start' : reason, configChanged: first || configKey !== this.lastConfigKey };
    this.lastConfigKey = configKey;
    this.push(ev);
  }

  private push(ev: LiveEvent): void {
    this.queue.push(ev);
    this.queuedBytes += eventBytes(ev);
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed && this.queue.length > 0) {
        const ev = this.queue.shift()!;
        try {
          const r = this.consumer(ev);
          if (r && typeof (r as PromiseLike<void>).then === 'function') await r;
        } catch (e) {
          this.close();
          this.onFailure(e);
          return;
        }
        this.queuedBytes = Math.max(0, this.queuedBytes - eventBytes(ev));
      }
    } finally {
      this.draining = false;
    }
  }
}
