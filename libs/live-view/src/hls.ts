// Live view for browsers without Media Source Extensions (iPhone Safari before 17.1): HLS with fMP4
// segments made from the same fragments. Each HLS segment is one GOP (a keyframe fragment and the
// fragments up to the next keyframe), concatenated as they came; the recorder's segment files
// restart their timestamps, so a new file starts an EXT-X-DISCONTINUITY with its own EXT-X-MAP.
// Latency is what HLS costs: players start ~3 target durations behind the edge.
import type { RelayEvent } from './relay.js';

interface HlsSegment {
  seq: number;
  /** Discontinuity sequence it belongs to (one per init / file). */
  disc: number;
  initId: number;
  durationMs: number;
  parts: Buffer[];
  bytes: number;
  /** Still growing (the current GOP): not listed yet. */
  open: boolean;
}

export interface HlsWindowOptions {
  /** Finished segments kept (and listed). Default 6. */
  keep?: number;
}

/** The sliding window of one camera: feed it the relay's events, serve its playlist and files. */
export class HlsWindow {
  private segs: HlsSegment[] = [];
  private inits = new Map<number, Buffer>();
  private initId = 0;
  private disc = 0;
  private nextSeq = 0;
  private firstDisc = 0;
  private currentFile: string | undefined;
  private readonly keep: number;

  constructor(opts: HlsWindowOptions = {}) {
    this.keep = opts.keep ?? 6;
  }

  push(ev: RelayEvent): void {
    if (ev.type === 'source') {
      this.closeOpen();
      this.currentFile = undefined;
      return;
    }
    if (ev.type === 'init') {
      this.closeOpen();
      if (this.currentFile !== undefined) this.disc++;
      this.currentFile = ev.segment;
      this.initId++;
      this.inits.set(this.initId, ev.bytes);
      return;
    }
    if (!this.currentFile || ev.segment !== this.currentFile) return;
    let open = this.segs.at(-1);
    if (ev.keyframe || !open?.open) {
      if (!ev.keyframe) return; // a GOP is only listed from its keyframe
      this.closeOpen();
      open = { seq: this.nextSeq++, disc: this.disc, initId: this.initId, durationMs: 0, parts: [], bytes: 0, open: true };
      this.segs.push(open);
    }
    open.parts.push(ev.bytes);
    open.bytes += ev.bytes.length;
    open.durationMs += ev.durationMs;
  }

  private closeOpen(): void {
    const last = this.segs.at(-1);
    if (last?.open) last.open = false;
    const closed = this.segs.filter((s) => !s.open);
    while (closed.length > this.keep) {
      const drop = closed.shift()!;
      this.segs.splice(this.segs.indexOf(drop), 1);
    }
    const first = this.segs[0];
    if (first) {
      this.firstDisc = first.disc;
      for (const id of [...this.inits.keys()]) if (id < first.initId) this.inits.delete(id);
    }
  }

  /** Finished segments listed in the playlist. */
  get ready(): number {
    return this.segs.filter((s) => !s.open).length;
  }

  /** The media playlist (URIs relative to it: init-<id>.mp4, seg-<seq>.m4s), or undefined while empty. */
  playlist(): string | undefined {
    const list = this.segs.filter((s) => !s.open);
    if (list.length === 0) return undefined;
    const target = Math.max(1, Math.ceil(Math.max(...list.map((s) => s.durationMs)) / 1000));
    const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${list[0]!.seq}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${this.firstDisc}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
    let disc = list[0]!.disc;
    let map: number | undefined;
    for (const s of list) {
      if (s.disc !== disc) {
        lines.push('#EXT-X-DISCONTINUITY');
        disc = s.disc;
      }
      if (s.initId !== map) {
        lines.push(`#EXT-X-MAP:URI="init-${s.initId}.mp4"`);
        map = s.initId;
      }
      lines.push(`#EXTINF:${(s.durationMs / 1000).toFixed(3)},`, `seg-${s.seq}.m4s`);
    }
    return lines.join('\n') + '\n';
  }

  init(id: number): Buffer | undefined {
    return this.inits.get(id);
  }

  segment(seq: number): Buffer | undefined {
    const s = this.segs.find((x) => x.seq === seq && !x.open);
    return s ? Buffer.concat(s.parts, s.bytes) : undefined;
  }
}

/** The HLS windows of a board: one per camera somebody fetched a playlist of, kept while it is fetched. */
export class HlsViews {
  private readonly views = new Map<string, { win: HlsWindow; stop(): void; lastAt: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly relay: { watch(cameraId: string, l: (ev: RelayEvent) => void): () => void },
    private readonly idleMs = 30_000,
  ) {
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const [c, v] of this.views) if (now - v.lastAt > this.idleMs) (v.stop(), this.views.delete(c));
    }, 5000);
    this.timer.unref();
  }

  /** The camera's window (watching starts on first use; a playlist request keeps it). */
  window(cameraId: string): HlsWindow {
    let v = this.views.get(cameraId);
    if (!v) {
      const win = new HlsWindow();
      v = { win, lastAt: Date.now(), stop: this.relay.watch(cameraId, (ev) => win.push(ev)) };
      this.views.set(cameraId, v);
    }
    v.lastAt = Date.now();
    return v.win;
  }

  /** The window if somebody is watching it (segment and init requests do not start one). */
  existing(cameraId: string): HlsWindow | undefined {
    return this.views.get(cameraId)?.win;
  }

  close(): void {
    clearInterval(this.timer);
    for (const v of this.views.values()) v.stop();
    this.views.clear();
  }
}
