// Board side of live view: one Redis subscription per watched camera, fanned out to every viewer
// of this board (ten viewers cost the worker what one does). Keeps the current init and the
// fragments since the last keyframe, so a new viewer starts at once; follows one source (worker)
// at a time and moves to another when the camera's worker changes.
import type { Redis } from 'ioredis';
import { decodeRelay, liveChannel, wantChannel } from './codec.js';

export type RelayEvent =
  | { type: 'init'; mimeType: string; codecs: string[]; configKey: string; bytes: Buffer; segment: string }
  | { type: 'fragment'; keyframe: boolean; bytes: Buffer; seenAt: number; segment: string; offset: number; durationMs: number }
  /** The stream moved to another worker (a new init follows). */
  | { type: 'source'; source: string };

export type RelayListener = (ev: RelayEvent) => void;

export interface LiveViewRelayOptions {
  /** For PUBLISH of "want". */
  redis: Pick<Redis, 'publish'>;
  /** A connection of its own in subscriber mode (closed by close()). */
  subscriber: Pick<Redis, 'subscribe' | 'unsubscribe' | 'on' | 'quit'>;
  prefix: string;
  /** How often "want" is repeated while somebody watches. Default 2 s. */
  wantEveryMs?: number;
  /** A source silent this long may be replaced by another. Default 1.5 s. */
  sourceSilentMs?: number;
  /** Back-buffer bound (fragments since the last keyframe). Default 8 MiB. */
  maxBufferedBytes?: number;
  now?: () => number;
}

interface Cam {
  listeners: Set<RelayListener>;
  init: Extract<RelayEvent, { type: 'init' }> | undefined;
  back: Extract<RelayEvent, { type: 'fragment' }>[];
  backBytes: number;
  source: string | undefined;
  lastMsgAt: number;
  lastFragmentAt: number | undefined;
  /** The last fragment delivered: [segment, offset] (duplicates after a resend are dropped). */
  lastSeg: string | undefined;
  lastOffset: number;
  /** Asked the source to start over (no init yet); not repeated more than every 2 s. */
  resendAt: number;
}

export interface RelayCameraState {
  /** Fragments arrived within the last 3 s. */
  live: boolean;
  lastFragmentAt: number | undefined;
  source: string | undefined;
  viewers: number;
}

export class LiveViewRelay {
  private readonly cams = new Map<string, Cam>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly channelPrefix: string;
  private closed = false;
  /** Messages received from Redis (tests, metrics). */
  received = 0;

  constructor(private readonly o: LiveViewRelayOptions) {
    this.now = o.now ?? Date.now;
    this.channelPrefix = liveChannel(o.prefix, '');
    o.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString('utf8'), message));
    this.timer = setInterval(() => this.sendWant(), o.wantEveryMs ?? 2000);
    this.timer.unref();
  }

  /** Starts following a camera for a viewer: the cached init and back-buffer come at once. */
  watch(cameraId: string, listener: RelayListener): () => void {
    if (this.closed) return () => {};
    let cam = this.cams.get(cameraId);
    if (!cam) {
      cam = { listeners: new Set(), init: undefined, back: [], backBytes: 0, source: undefined, lastMsgAt: 0, lastFragmentAt: undefined, lastSeg: undefined, lastOffset: -1, resendAt: 0 };
      this.cams.set(cameraId, cam);
      void Promise.resolve(this.o.subscriber.subscribe(liveChannel(this.o.prefix, cameraId))).catch(() => {});
    }
    cam.listeners.add(listener);
    if (cam.init) {
      listener(cam.init);
      for (const f of cam.back) listener(f);
    }
    // the first viewer (or one while nothing comes): ask now; without an init the source starts over
    this.want([cameraId], !cam.init);
    return () => {
      const c = this.cams.get(cameraId);
      if (!c) return;
      c.listeners.delete(listener);
      if (c.listeners.size === 0) {
        this.cams.delete(cameraId);
        void Promise.resolve(this.o.subscriber.unsubscribe(liveChannel(this.o.prefix, cameraId))).catch(() => {});
      }
    };
  }

  state(cameraId: string): RelayCameraState {
    const c = this.cams.get(cameraId);
    const now = this.now();
    return { live: !!c?.lastFragmentAt && now - c.lastFragmentAt < 3000, lastFragmentAt: c?.lastFragmentAt, source: c?.source, viewers: c?.listeners.size ?? 0 };
  }

  private want(cameras: string[], resend: boolean): void {
    if (cameras.length === 0 || this.closed) return;
    void this.o.redis.publish(wantChannel(this.o.prefix), JSON.stringify({ cameras, ...(resend ? { resend: true } : {}) })).catch(() => {});
  }

  private sendWant(): void {
    const now = this.now();
    const all = [...this.cams.keys()];
    this.want(all, false);
    // cameras still without an init (their worker had no viewer before, or is new): ask to start over
    const cold = all.filter((c) => !this.cams.get(c)!.init && now - this.cams.get(c)!.resendAt > 2000);
    for (const c of cold) this.cams.get(c)!.resendAt = now;
    this.want(cold, true);
  }

  private onMessage(channel: string, message: Buffer): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    const cameraId = channel.slice(this.channelPrefix.length);
    const cam = this.cams.get(cameraId);
    if (!cam) return;
    let env;
    try {
      env = decodeRelay(message);
    } catch {
      return;
    }
    this.received++;
    const now = this.now();
    if (env.src !== cam.source) {
      // another worker: follow it only when the current one has gone quiet (a camera that moved)
      if (cam.source && now - cam.lastMsgAt < (this.o.sourceSilentMs ?? 1500)) return;
      cam.source = env.src;
      cam.init = undefined;
      cam.back = [];
      cam.backBytes = 0;
      cam.lastSeg = undefined;
      cam.lastOffset = -1;
      for (const l of cam.listeners) l({ type: 'source', source: env.src });
    }
    cam.lastMsgAt = now;
    const m = env.msg;
    if (m.type === 'init') {
      const init = { type: 'init' as const, mimeType: m.mimeType, codecs: m.codecs, configKey: m.configKey, bytes: m.bytes, segment: m.segment };
      const sameFile = cam.init?.segment === m.segment;
      const repeat = sameFile && cam.init!.configKey === m.configKey;
      cam.init = init;
      if (!sameFile) {
        cam.back = [];
        cam.backBytes = 0;
      }
      if (!repeat) for (const l of cam.listeners) l(init);
      return;
    }
    if (m.type === 'fragment') {
      if (!cam.init) {
        // joined a stream in the middle: ask for a fresh start (at most every 2 s)
        if (now - cam.resendAt > 2000) {
          cam.resendAt = now;
          this.want([cameraId], true);
        }
        return;
      }
      // a resend repeats what we have: drop fragments at or before the last one delivered
      if (m.segment === cam.lastSeg && m.offset <= cam.lastOffset) return;
      if (m.segment !== cam.init.segment) return; // a fragment of another file than the init we hold
      cam.lastSeg = m.segment;
      cam.lastOffset = m.offset;
      cam.lastFragmentAt = now;
      const f = { type: 'fragment' as const, keyframe: m.keyframe, bytes: m.bytes, seenAt: m.seenAt, segment: m.segment, offset: m.offset, durationMs: m.durationMs };
      if (f.keyframe) {
        cam.back = [f];
        cam.backBytes = f.bytes.length;
      } else if (cam.back.length && cam.backBytes + f.bytes.length <= (this.o.maxBufferedBytes ?? 8 * 1024 * 1024)) {
        cam.back.push(f);
        cam.backBytes += f.bytes.length;
      }
      for (const l of cam.listeners) l(f);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.cams.clear();
    await Promise.resolve(this.o.subscriber.quit()).catch(() => {});
  }
}
