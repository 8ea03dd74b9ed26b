// Splits the bytes of a growing fragmented MP4, fed in pieces of any size, into its init section
// and complete moof+mdat fragments. Pure (no files, no timers): the file follower feeds it what it
// reads, unit tests feed it chunks.
import { BoxFormatError, lookHeader, type BoxHeader } from './boxes.js';
import { parseMoof, type FragmentInfo } from './fragment.js';
import { parseInit, type InitInfo } from './init.js';

/** Largest fragment (moof through mdat), moov or skipped box accepted: anything larger is garbage. */
export const DEFAULT_MAX_FRAGMENT_BYTES = 32 * 1024 * 1024;

export type SplitItem =
  /** ftyp + moov (only those two boxes, in that order; other boxes before the first moof are skipped). */
  | { kind: 'init'; offset: number; bytes: Buffer; info: InitInfo }
  /** moof through the mdat that follows it, as one Buffer (exactly the file's bytes). */
  | { kind: 'fragment'; offset: number; bytes: Buffer; info: FragmentInfo }
  /** A box that is neither (free, mfra at the end of a closed segment, ...): not kept. */
  | { kind: 'skipped'; type: string; offset: number; size: number }
  /** The bytes are not a fragmented MP4 we can follow; nothing more is accepted. */
  | { kind: 'error'; offset: number; message: string };

interface OpenBox {
  type: string;
  offset: number;
  size: number;
  keep: boolean;
  remaining: number;
}

export class FragmentSplitter {
  private readonly maxBytes: number;
  /** File offset of the next byte push() takes. */
  private pos = 0;
  private readonly hdr = Buffer.alloc(16);
  private hdrLen = 0;
  private cur: OpenBox | undefined;
  /** Copies of the bytes of the unit in progress (ftyp, moov, or moof..mdat). */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private unitStart = 0;
  private frag: { offset: number; info: FragmentInfo } | undefined;
  private ftyp: { offset: number; bytes: Buffer } | undefined;
  private initInfo: InitInfo | undefined;
  private err: string | undefined;

  constructor(opts: { maxFragmentBytes?: number; startOffset?: number } = {}) {
    this.maxBytes = opts.maxFragmentBytes ?? DEFAULT_MAX_FRAGMENT_BYTES;
    this.pos = opts.startOffset ?? 0;
  }

  /** File offset of the next byte push() expects (= bytes consumed so far, from startOffset). */
  get position(): number {
    return this.pos;
  }
  /** The init found so far. */
  get init(): InitInfo | undefined {
    return this.initInfo;
  }
  /** Why the splitter stopped, once it did. */
  get failed(): string | undefined {
    return this.err;
  }
  /** Bytes held in memory for a box or fragment not yet complete. */
  get heldBytes(): number {
    return this.hdrLen + this.partsLen;
  }
  /**
   * Where the incomplete unit at the end of what was pushed starts (a header split across reads,
   * a moof waiting for its mdat, a box cut short), or undefined at a box boundary.
   */
  get partial(): { offset: number; bytes: number } | undefined {
    if (this.frag) return { offset: this.frag.offset, bytes: this.pos - this.frag.offset };
    if (this.cur) return { offset: this.cur.offset, bytes: this.pos - this.cur.offset };
    if (this.hdrLen > 0) return { offset: this.pos - this.hdrLen, bytes: this.hdrLen };
    return undefined;
  }

  /**
   * Takes the next bytes of the file. `chunk` is only read during the call (what is kept is
   * copied), so the caller may reuse its read buffer.
   */
  push(chunk: Uint8Array): SplitItem[] {
    const out: SplitItem[] = [];
    let i = 0;
    while (i < chunk.length && this.err === undefined) {
      if (!this.cur) {
        const want = this.hdrLen >= 8 && this.hdr.readUInt32BE(0) === 1 ? 16 : 8;
        const n = Math.min(want - this.hdrLen, chunk.length - i);
        this.hdr.set(chunk.subarray(i, i + n), this.hdrLen);
        this.hdrLen += n;
        this.pos += n;
        i += n;
        if (this.hdrLen < want) continue;
        const look = lookHeader(this.hdr, 0, this.hdrLen);
        if ('need' in look) continue;
        const at = this.pos - this.hdrLen;
        if ('error' in look) {
          this.fail(out, at, look.error);
          break;
        }
        this.begin(out, look.header, at);
        continue;
      }
      const c = this.cur;
      const n = Math.min(c.remaining, chunk.length - i);
      if (c.keep) {
        this.parts.push(Buffer.from(chunk.subarray(i, i + n)));
        this.partsLen += n;
      }
      c.remaining -= n;
      this.pos += n;
      i += n;
      if (c.remaining === 0) this.complete(out);
    }
    return out;
  }

  private begin(out: SplitItem[], h: BoxHeader, offset: number): void {
    let keep: boolean;
    if (!this.initInfo) {
      if (h.type === 'moof' || h.type === 'mdat') return this.fail(out, offset, `'${h.type}' box before the moov: not a fragmented MP4 with an empty moov`);
      keep = h.type === 'ftyp' || h.type === 'moov';
    } else if (this.frag) {
      if (h.type === 'moof') return this.fail(out, offset, `moof at offset ${this.frag.offset} is not followed by its mdat`);
      keep = true; // whatever lies between a moof and its mdat stays, so data offsets keep pointing right
    } else {
      if (h.type === 'moov') return this.fail(out, offset, 'a second moov');
      keep = h.type === 'moof';
    }
    const unitStart = this.frag ? this.frag.offset : offset;
    if (offset + h.size - unitStart > this.maxBytes) {
      const what = this.frag || h.type === 'moof' || h.type === 'mdat' ? 'fragment' : `'${h.type}' box`;
      return this.fail(out, offset, `'${h.type}' box at offset ${offset} declares ${h.size} bytes: the ${what} would exceed the ${this.maxBytes}-byte limit`);
    }
    if (keep) {
      if (!this.frag) {
        this.parts = [];
        this.partsLen = 0;
        this.unitStart = offset;
      }
      this.parts.push(Buffer.from(this.hdr.subarray(0, this.hdrLen)));
      this.partsLen += this.hdrLen;
    }
    this.cur = { type: h.type, offset, size: h.size, keep, remaining: h.size - this.hdrLen };
    this.hdrLen = 0;
    if (this.cur.remaining === 0) this.complete(out);
  }

  private take(): Buffer {
    const b = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLen);
    this.parts = [];
    this.partsLen = 0;
    return b;
  }

  private complete(out: SplitItem[]): void {
    const c = this.cur!;
    this.cur = undefined;
    if (!c.keep) {
      out.push({ kind: 'skipped', type: c.type, offset: c.offset, size: c.size });
      return;
    }
    try {
      if (!this.initInfo) {
        if (c.type === 'ftyp') {
          this.ftyp = { offset: c.offset, bytes: this.take() };
          return;
        }
        const moov = this.take();
        const info = parseInit(moov);
        this.initInfo = info;
        const bytes = this.ftyp ? Buffer.concat([this.ftyp.bytes, moov]) : moov;
        out.push({ kind: 'init', offset: this.ftyp?.offset ?? c.offset, bytes, info });
        this.ftyp = undefined;
        return;
      }
      if (!this.frag) {
        // a moof: parse it now (its mdat may take a while to arrive) and keep collecting
        const moof = this.take();
        this.parts = [moof];
        this.partsLen = moof.length;
        this.frag = { offset: c.offset, info: parseMoof(moof, this.initInfo) };
        return;
      }
      if (c.type !== 'mdat') return;
      const f = this.frag;
      this.frag = undefined;
      const bytes = this.take();
      if (f.info.dataEnd !== undefined && f.info.dataEnd > bytes.length) {
        throw new BoxFormatError(`the samples of fragment ${f.info.sequence} end ${f.info.dataEnd} bytes after its moof, past its mdat (${bytes.length} bytes)`);
      }
      out.push({ kind: 'fragment', offset: f.offset, bytes, info: f.info });
    } catch (e) {
      this.fail(out, c.type === 'mdat' ? this.unitStart : c.offset, e instanceof BoxFormatError ? e.message : `unreadable ${c.type}: ${(e as Error).message}`);
    }
  }

  private fail(out: SplitItem[], offset: number, message: string): void {
    this.err = message;
    this.hdrLen = 0;
    this.parts = [];
    this.partsLen = 0;
    this.cur = undefined;
    this.frag = undefined;
    out.push({ kind: 'error', offset, message });
  }
}
