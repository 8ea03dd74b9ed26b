// Worker side of live view: while a board says somebody watches a camera this worker records, the
// camera's live fragments go to a Redis channel. Nobody watching: nothing is read, nothing is sent
// (one idle subscription per worker process).
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { LiveEvent, LiveFragmentHub } from '@tapo/live-fragments';
import { encodeRelay, liveChannel, wantChannel, type RelayMessage } from './codec.js';

export interface LiveViewPublisherOptions {
  hub: Pick<LiveFragmentHub, 'stream' | 'isRecording'>;
  /** For PUBLISH. */
  redis: Pick<Redis, 'publish'>;
  /** A connection of its own in subscriber mode (made by the caller; closed by close()). */
  subscriber: Pick<Redis, 'subscribe' | 'on' | 'quit'>;
  prefix: string;
  /** host:pid, to tell sources apart. */
  source: string;
  logger?: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** A watch lasts this long after the last "want". Default 8 s (boards repeat it every 2 s). */
  leaseMs?: number;
  now?: () => number;
}

interface Watch {
  until: number;
  unsubscribe(): void;
  seq: number;
  /** Counts codec configurations: a new one at every init whose configuration changed. */
  config: number;
}

export class LiveViewPublisher {
  private readonly watches = new Map<string, Watch>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private closed = false;
  /** Fragments published (for tests and metrics). */
  published = 0;

  constructor(private readonly o: LiveViewPublisherOptions) {
    this.now = o.now ?? Date.now;
    o.subscriber.on('message', (channel: string, message: string) => {
      if (channel === wantChannel(o.prefix)) this.onWant(message);
    });
    void Promise.resolve(o.subscriber.subscribe(wantChannel(o.prefix))).catch((e: Error) => o.logger?.warn({ err: e }, `live view: cannot subscribe to "want" messages: ${e.message}`));
    this.timer = setInterval(() => this.expire(), 1000);
    this.timer.unref();
  }

  /** Cameras being published now. */
  cameras(): string[] {
    return [...this.watches.keys()];
  }

  private onWant(message: string): void {
    if (this.closed) return;
    let want: { cameras?: unknown; resend?: unknown };
    try {
      want = JSON.parse(message) as typeof want;
    } catch {
      return;
    }
    const cameras = want.cameras;
    if (!Array.isArray(cameras)) return;
    const resend = want.resend === true;
    const until = this.now() + (this.o.leaseMs ?? 8000);
    for (const c of cameras) {
      if (typeof c !== 'string' || !this.o.hub.isRecording(c)) continue;
      const w = this.watches.get(c);
      if (w && !resend) {
        w.until = until;
        continue;
      }
      // a board that has no init yet (it came late, or switched to this worker): a new subscription
      // starts with the init and the fragments from the last keyframe (boards drop what they have)
      if (w) {
        w.unsubscribe();
        this.watches.delete(c);
      }
      this.start(c, until);
    }
  }

  private start(cameraId: string, until: number): void {
    const channel = liveChannel(this.o.prefix, cameraId);
    const watch: Watch = { until, seq: 0, config: 0, unsubscribe: () => {} };
    const send = (msg: RelayMessage) => {
      watch.seq++;
      void this.o.redis.publish(channel, encodeRelay({ src: this.o.source, seq: watch.seq, msg })).catch(() => {});
    };
    const consumer = (ev: LiveEvent) => {
      if (ev.type === 'init') {
        if (ev.configChanged) watch.config++;
        send({ type: 'init', segment: path.basename(ev.segment), mimeType: ev.mimeType, codecs: ev.codecs, configKey: `${this.o.source}#${watch.config}`, bytes: ev.bytes });
      }
      else if (ev.type === 'fragment') {
        this.published++;
        send({ type: 'fragment', segment: path.basename(ev.segment), offset: ev.offset, keyframe: ev.keyframe, decodeTimeMs: ev.decodeTimeMs, durationMs: ev.durationMs, seenAt: ev.seenAt, bytes: ev.bytes });
      } else if (ev.type === 'gap') send({ type: 'gap' });
      else if (ev.type === 'segment-end') send({ type: 'segment-end', reason: ev.reason });
    };
    // Redis PUBLISH does not wait: a consumer that returns at once never falls behind the stream
    watch.unsubscribe = this.o.hub.stream(cameraId).subscribe(consumer, { maxQueuedBytes: 16 * 1024 * 1024 });
    this.watches.set(cameraId, watch);
    this.o.logger?.debug({ camera: cameraId }, `live view: publishing ${cameraId}`);
  }

  private expire(): void {
    const now = this.now();
    for (const [c, w] of this.watches) {
      // nobody asked for a while, or the camera moved to another worker
      if (w.until < now || !this.o.hub.isRecording(c)) {
        w.unsubscribe();
        this.watches.delete(c);
        this.o.logger?.debug({ camera: c }, `live view: stopped publishing ${c}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.watches.values()) w.unsubscribe();
    this.watches.clear();
    await Promise.resolve(this.o.subscriber.quit()).catch(() => {});
  }
}
