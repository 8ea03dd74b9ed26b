// The few ISO BMFF box-level reads this lib needs, self-contained and bounds-checked: every read
// names what is missing instead of reading past a buffer, and nothing is allocated by a size a
// box claims.

/** A malformed box (the stream reports it and stops following that segment). */
export class BoxFormatError extends Error {
  override readonly name = 'BoxFormatError';
}

export interface BoxHeader {
  type: string;
  /** Total size including the header. */
  size: number;
  /** 8, or 16 with a 64-bit size (a 'uuid' box's extended type is counted as payload). */
  headerSize: number;
}

/**
 * Result of looking at the bytes of a box header: `need` = more bytes are needed to tell (a header
 * split across reads), `error` = these bytes cannot start a box.
 */
export type HeaderLook = { header: BoxHeader } | { need: number } | { error: string };

/** True for the four bytes of a plausible box type: printable ASCII or '©'. */
export function isPlausibleType(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 4; i++) {
    const c = b[off + i];
    if (c === undefined || !((c >= 0x20 && c <= 0x7e) || c === 0xa9)) return false;
  }
  return true;
}

export function fourcc(b: Uint8Array, off: number): string {
  return String.fromCharCode(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!);
}

/**
 * Parses a box header from b[off, off + len). Size 0 ("to the end of the file") is refused: a file
 * that is still growing has no end to measure it by, and ffmpeg's fragmented output never uses it.
 */
export function lookHeader(b: Uint8Array, off: number, len: number): HeaderLook {
  if (len < 8) return { need: 8 };
  const dv = new DataView(b.buffer, b.byteOffset + off, len);
  const size32 = dv.getUint32(0);
  if (!isPlausibleType(b, off + 4)) return { error: `bytes ${hex(b, off + 4, 4)} are not a box type` };
  const type = fourcc(b, off + 4);
  if (size32 === 0) return { error: `'${type}' box declares size 0 (to the end of the file), which cannot be followed while the file grows` };
  if (size32 === 1) {
    if (len < 16) return { need: 16 };
    const large = dv.getBigUint64(8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) return { error: `'${type}' box declares an impossible 64-bit size` };
    const size = Number(large);
    if (size < 16) return { error: `'${type}' box declares 64-bit size ${size} (< 16)` };
    return { header: { type, size, headerSize: 16 } };
  }
  if (size32 < 8) return { error: `'${type}' box declares size ${size32} (< 8)` };
  return { header: { type, size: size32, headerSize: 8 } };
}

/** A box inside a buffer: offsets within that buffer. */
export interface Box {
  type: string;
  /** Offset of the header. */
  offset: number;
  /** Offset of the payload. */
  start: number;
  /** Offset just past the box. */
  end: number;
}

/**
 * The boxes in b[start, end) (a container's payload). Throws a BoxFormatError on a header that is
 * not one or a box that runs past the container.
 */
export function children(b: Uint8Array, start: number, end: number, where: string): Box[] {
  if (start < 0 || end > b.length || start > end) throw new BoxFormatError(`${where}: range ${start}-${end} is outside the ${b.length} bytes`);
  const out: Box[] = [];
  let p = start;
  while (p < end) {
    // A 32-bit zero terminator is allowed at the end of some QuickTime containers.
    if (end - p === 4 && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0) break;
    const r = lookHeader(b, p, end - p);
    if ('need' in r) throw new BoxFormatError(`${where}: ${end - p} stray bytes at offset ${p}, too few for a box header`);
    if ('error' in r) throw new BoxFormatError(`${where}: at offset ${p}: ${r.error}`);
    const h = r.header;
    if (h.size > end - p) throw new BoxFormatError(`${where}: '${h.type}' at offset ${p} (size ${h.size}) runs past its container (${end - p} bytes left)`);
    out.push({ type: h.type, offset: p, start: p + h.headerSize, end: p + h.size });
    p += h.size;
  }
  return out;
}

/** The first child of the given type. */
export function child(b: Uint8Array, parent: { start: number; end: number }, type: string, where: string): Box | undefined {
  return children(b, parent.start, parent.end, where).find((c) => c.type === type);
}

/** Bounds-checked big-endian reads within one box's payload. */
export class Reader {
  private readonly dv: DataView;
  constructor(
    readonly b: Uint8Array,
    private readonly box: { start: number; end: number },
    readonly where: string,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get length(): number {
    return this.box.end - this.box.start;
  }
  private at(rel: number, n: number, what: string): number {
    if (rel < 0 || rel + n > this.length) throw new BoxFormatError(`${this.where} is ${this.length} bytes, too short for its ${what} (bytes ${rel}-${rel + n})`);
    return this.box.start + rel;
  }
  u8(rel: number, what: string): number {
    return this.b[this.at(rel, 1, what)]!;
  }
  u16(rel: number, what: string): number {
    return this.dv.getUint16(this.at(rel, 2, what));
  }
  u24(rel: number, what: string): number {
    const o = this.at(rel, 3, what);
    return (this.b[o]! << 16) | (this.b[o + 1]! << 8) | this.b[o + 2]!;
  }
  u32(rel: number, what: string): number {
    return this.dv.getUint32(this.at(rel, 4, what));
  }
  i32(rel: number, what: string): number {
    return this.dv.getInt32(this.at(rel, 4, what));
  }
  u64(rel: number, what: string): number {
    const v = this.dv.getBigUint64(this.at(rel, 8, what));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BoxFormatError(`${this.where}: ${what} ${v} is too large`);
    return Number(v);
  }
  bytes(rel: number, n: number, what: string): Uint8Array {
    const o = this.at(rel, n, what);
    return this.b.subarray(o, o + n);
  }
  /** Version and flags of a full box. */
  full(): { version: number; flags: number } {
    return { version: this.u8(0, 'version'), flags: this.u24(1, 'flags') };
  }
}

export function hex(b: Uint8Array, off: number, n: number): string {
  return Buffer.from(b.subarray(off, Math.min(b.length, off + n))).toString('hex');
}
