// Wire formats of live view (pure):
//  - the relay message a worker publishes on Redis for each live fragment event of a watched camera,
//  - the frames of the board's stream to a browser (GET /api/live/stream).

/** What a worker publishes about one camera's live stream. */
export type RelayMessage =
  /** `segment`: the file's base name; `configKey` changes when the codec configuration does. */
  | { type: 'init'; segment: string; mimeType: string; codecs: string[]; configKey: string; bytes: Buffer }
  /** `offset`: of the moof in the segment file (with `segment`, what a board dedupes on). */
  | { type: 'fragment'; segment: string; offset: number; keyframe: boolean; decodeTimeMs: number; durationMs: number; seenAt: number; bytes: Buffer }
  | { type: 'segment-end'; reason: string }
  | { type: 'gap' };

export interface RelayEnvelope {
  /** Which worker process published it (host:pid): a board follows one source at a time. */
  src: string;
  /** Per-source sequence number (detects loss and restarts). */
  seq: number;
  msg: RelayMessage;
}

/** [u32 header length][header JSON][payload bytes]. */
export function encodeRelay(env: RelayEnvelope): Buffer {
  const { msg } = env;
  const bytes = 'bytes' in msg ? msg.bytes : undefined;
  const headerMsg = bytes ? { ...msg, bytes: undefined } : msg;
  const header = Buffer.from(JSON.stringify({ src: env.src, seq: env.seq, msg: headerMsg }), 'utf8');
  const out = Buffer.allocUnsafe(4 + header.length + (bytes?.length ?? 0));
  out.writeUInt32BE(header.length, 0);
  header.copy(out, 4);
  if (bytes) bytes.copy(out, 4 + header.length);
  return out;
}

export function decodeRelay(buf: Buffer): RelayEnvelope {
  if (buf.length < 4) throw new Error('relay message shorter than its header length');
  const n = buf.readUInt32BE(0);
  if (4 + n > buf.length) throw new Error('relay message cut in its header');
  const h = JSON.parse(buf.toString('utf8', 4, 4 + n)) as { src?: unknown; seq?: unknown; msg?: { type?: unknown } };
  if (typeof h.src !== 'string' || typeof h.seq !== 'number' || !h.msg || typeof h.msg.type !== 'string') throw new Error('relay message header is not ours');
  const msg = h.msg as RelayMessage;
  if (msg.type === 'init' || msg.type === 'fragment') (msg as { bytes: Buffer }).bytes = buf.subarray(4 + n);
  return { src: h.src, seq: h.seq, msg };
}

/** Frame kinds of the browser stream. */
export const FRAME = { status: 1, initHeader: 2, initBytes: 3, fragment: 4, gap: 5 } as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export const FRAME_HEADER_BYTES = 6;

/** [u8 kind][u8 camera index][u32 payload length][payload]. */
export function encodeFrame(kind: FrameKind, camera: number, payload: Buffer | object): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt8(kind, 0);
  out.writeUInt8(camera, 1);
  out.writeUInt32BE(body.length, 2);
  body.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** Splits a byte stream into frames (for tests and non-browser clients). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Array<{ kind: number; camera: number; payload: Buffer }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ kind: number; camera: number; payload: Buffer }> = [];
    while (this.buf.length >= FRAME_HEADER_BYTES) {
      const len = this.buf.readUInt32BE(2);
      if (this.buf.length < FRAME_HEADER_BYTES + len) break;
      out.push({ kind: this.buf.readUInt8(0), camera: this.buf.readUInt8(1), payload: this.buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len) });
      this.buf = this.buf.subarray(FRAME_HEADER_BYTES + len);
    }
    return out;
  }
}

/** Redis channels of live view (binary messages on the first, JSON "want" on the second). */
export function liveChannel(prefix: string, cameraId: string): string {
  return `${prefix}:live-view:cam:${cameraId}`;
}
export function wantChannel(prefix: string): string {
  return `${prefix}:live-view:want`;
}
