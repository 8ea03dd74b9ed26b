// One browser's live stream (GET /api/live/stream): the relay's events of the cameras it asked
// for, as frames (codec.ts), with a drop-to-keyframe policy when the browser reads too slowly (a
// slow phone never makes the board buffer without bound, and never slows other viewers).
import { FRAME, encodeFrame } from './codec.js';
import type { LiveViewRelay, RelayEvent } from './relay.js';

export interface LiveStatus {
  state: 'live' | 'waiting' | 'offline';
  /** offline: when its video stopped (ms). */
  since?: number;
  message: string;
}

/** What the stream writes to (an http.ServerResponse has it). */
export interface FrameSink {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
}

export interface ViewerStreamOptions {
  relay: Pick<LiveViewRelay, 'watch' | 'state'>;
  cameras: string[];
  sink: FrameSink;
  /**
   * What a camera is doing when no fragments come (from the board's camera status): recording
   * (its fragments are on their way), or not, with when its video stopped.
   */
  cameraState(cameraId: string): Promise<{ recording: boolean; since?: number; message?: string }>;
  /** Bytes the sink may hold before fragments are dropped. Default 4 MiB. */
  maxQueuedBytes?: number;
  /** Status check period; a status frame goes at least every keepaliveMs. Defaults 1 s, 5 s. */
  statusEveryMs?: number;
  keepaliveMs?: number;
  now?: () => number;
}

interface PerCam {
  index: number;
  lastConfigKey: string | undefined;
  init: Extract<RelayEvent, { type: 'init' }> | undefined;
  needKey: boolean;
  dropping: boolean;
  dropped: number;
  status: LiveStatus | undefined;
  statusSentAt: number;
}

/** Starts streaming; returns the stop function (call it when the response closes). */
export function startViewerStream(o: ViewerStreamOptions): () => void {
  const now = o.now ?? Date.now;
  const max = o.maxQueuedBytes ?? 4 * 1024 * 1024;
  const cams = o.cameras.map((_, index): PerCam => ({ index, lastConfigKey: undefined, init: undefined, needKey: true, dropping: false, dropped: 0, status: undefined, statusSentAt: 0 }));
  let stopped = false;
  const write = (buf: Buffer) => {
    if (!stopped && !o.sink.destroyed) o.sink.write(buf);
  };
  const sendInit = (c: PerCam, init: Extract<RelayEvent, { type: 'init' }>, reason: string) => {
    const configChanged = init.configKey !== c.lastConfigKey;
    c.lastConfigKey = init.configKey;
    write(encodeFrame(FRAME.initHeader, c.index, { mimeType: init.mimeType, codecs: init.codecs, configChanged, reason }));
    write(encodeFrame(FRAME.initBytes, c.index, init.bytes));
    c.needKey = true;
  };
  const sendStatus = (c: PerCam, s: LiveStatus) => {
    c.status = s;
    c.statusSentAt = now();
    write(encodeFrame(FRAME.status, c.index, s));
  };

  const unwatch = o.cameras.map((cameraId, i) =>
    o.relay.watch(cameraId, (ev) => {
      const c = cams[i]!;
      if (ev.type === 'source') return;
      if (ev.type === 'init') {
        const first = c.init === undefined;
        c.init = ev;
        if (!c.dropping) sendInit(c, ev, first ? 'start' : 'segment');
        return;
      }
      if (!c.init) return;
      if (c.dropping) {
        if (!ev.keyframe || o.sink.writableLength > max / 2) return void c.dropped++;
        write(encodeFrame(FRAME.gap, c.index, { droppedFragments: c.dropped }));
        c.dropping = false;
        c.dropped = 0;
        sendInit(c, c.init, 'resync');
      }
      if (c.needKey) {
        if (!ev.keyframe) return;
        c.needKey = false;
      }
      if (o.sink.writableLength > max) {
        c.dropping = true;
        c.dropped = 1;
        return;
      }
      write(encodeFrame(FRAME.fragment, c.index, ev.bytes));
      if (c.status?.state !== 'live') sendStatus(c, { state: 'live', message: 'live' });
    }),
  );

  const check = async () => {
    for (const [i, cameraId] of o.cameras.entries()) {
      const c = cams[i]!;
      const r = o.relay.state(cameraId);
      let s: LiveStatus;
      if (r.live) s = { state: 'live', message: 'live' };
      else {
        const cs = await o.cameraState(cameraId).catch(() => ({ recording: true }) as { recording: boolean; since?: number; message?: string });
        if (cs.recording) s = { state: 'waiting', message: 'waiting for the recorder…' };
        else {
          const since = r.lastFragmentAt ?? cs.since;
          s = { state: 'offline', ...(since !== undefined ? { since } : {}), message: cs.message ?? 'camera offline' };
        }
      }
      const changed = c.status?.state !== s.state || c.status?.since !== s.since;
      if (changed || now() - c.statusSentAt >= (o.keepaliveMs ?? 5000)) sendStatus(c, s);
    }
  };
  void check();
  const timer = setInterval(() => void check().catch(() => {}), o.statusEveryMs ?? 1000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    for (const u of unwatch) u();
  };
}
