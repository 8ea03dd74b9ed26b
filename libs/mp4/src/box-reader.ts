// ISO BMFF box headers: parsing from buffers and walking the top level of a file with positioned reads.
import type { FileHandle } from 'node:fs/promises';
import { LIMITS, Mp4FormatError } from './errors.js';
import { readAt, readInto } from './file-io.js';

export interface BoxHeader {
  type: string;
  /** Total box size including the header. For size 0 ("to the end") this is `available`. */
  size: number;
  headerSize: number;
  /** How the size was declared: 32-bit, 64-bit largesize, or 0 = extends to the end of the file/container. */
  sizeField: 'normal' | 'large' | 'to-end';
}

export type HeaderResult = { ok: true; header: BoxHeader } | { ok: false; reason: string };

/** True for the four bytes of a plausible box type: printable ASCII (or '©', used by QuickTime metadata). */
export function isPlausibleType(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 4; i++) {
    const c = b[off + i];
    if (c === undefined) return false;
    if (!((c >= 0x20 && c <= 0x7e) || c === 0xa9)) return false;
  }
  return true;
}

export function fourcc(b: Uint8Array, off: number): string {
  return String.fromCharCode(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!);
}

/**
 * Parses the box header at `off` of `b`. `available` = bytes from `off` to the end of the enclosing
 * file/container (used for size 0 and to size the result); the header itself must be in `b`.
 * The declared size may exceed `available` (a truncated box): that is not an error here.
 */
export function parseBoxHeader(b: Uint8Array, off: number, available: number): HeaderResult {
  if (available < 8 || off + 8 > b.length) return { ok: false, reason: `only ${Math.min(available, b.length - off)} bytes left, a box header needs 8` };
  const size32 = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  if (!isPlausibleType(b, off + 4)) return { ok: false, reason: `bytes ${hex(b, off + 4, 4)} are not a box type` };
  const type = fourcc(b, off + 4);
  let size: number;
  let headerSize = 8;
  let sizeField: BoxHeader['sizeField'] = 'normal';
  if (size32 === 1) {
    if (available < 16 || off + 16 > b.length) return { ok: false, reason: `'${type}' box with a 64-bit size is cut inside its header` };
    const large = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off + 8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: `'${type}' box declares an impossible 64-bit size` };
    size = Number(large);
    headerSize = 16;
    sizeField = 'large';
    if (size < 16) return { ok: false, reason: `'${type}' box declares 64-bit size ${size} (< 16)` };
  } else if (size32 === 0) {
    size = available;
    sizeField = 'to-end';
  } else {
    size = size32;
    if (size < 8) return { ok: false, reason: `'${type}' box declares size ${size} (< 8)` };
  }
  if (type === 'uuid') headerSize += 16;
  if (sizeField !== 'to-end' && size < headerSize) return { ok: false, reason: `'${type}' box declares size ${size}, smaller than its header` };
  return { ok: true, header: { type, size, headerSize, sizeField } };
}

/** A box found inside a buffer: absolute offsets within that buffer. */
export interface ChildBox {
  type: string;
  offset: number;
  size: number;
  headerSize: number;
  /** Offset of the payload (after the header). */
  start: number;
  /** Offset just past the box. */
  end: number;
}

/**
 * Iterates the boxes in b[start, end); throws an Mp4FormatError on a malformed or overrunning box.
 * `base` is the file offset of b[0], for the messages.
 */
export function* childBoxes(b: Uint8Array, start: number, end: number, base = 0): Generator<ChildBox> {
  if (end > b.length) throw new Mp4FormatError(`box range ${base + start}-${base + end} runs past the ${b.length} bytes read`);
  let p = start;
  while (p < end) {
    const r = parseBoxHeader(b, p, end - p);
    if (!r.ok) {
      // QuickTime allows a 32-bit zero terminator at the end of some containers.
      if (end - p === 4 && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0) return;
      throw new Mp4FormatError(`bad box at offset ${base + p}: ${r.reason}`);
    }
    const h = r.header;
    if (p + h.size > end) throw new Mp4FormatError(`'${h.type}' box at offset ${base + p} (size ${h.size}) runs past its container (ends at ${base + end})`);
    yield { type: h.type, offset: p, size: h.size, headerSize: h.headerSize, start: p + h.headerSize, end: p + h.size };
    p += h.size;
  }
}

/** The first child box of the given type in b[start, end). */
export function findChild(b: Uint8Array, start: number, end: number, type: string): ChildBox | undefined {
  for (const c of childBoxes(b, start, end)) if (c.type === type) return c;
  return undefined;
}

/** All child boxes of the given type in b[start, end). */
export function findChildren(b: Uint8Array, start: number, end: number, type: string): ChildBox[] {
  const out: ChildBox[] = [];
  for (const c of childBoxes(b, start, end)) if (c.type === type) out.push(c);
  return out;
}

/** Follows a path of box types from b[start, end) (e.g. ['mdia', 'minf', 'stbl']). */
export function findPath(b: Uint8Array, start: number, end: number, path: readonly string[]): ChildBox | undefined {
  let cur: ChildBox | undefined;
  let s = start;
  let e = end;
  for (const t of path) {
    cur = findChild(b, s, e, t);
    if (!cur) return undefined;
    s = cur.start;
    e = cur.end;
  }
  return cur;
}

/** A top-level box of a file (the public shape). */
export interface TopBox {
  type: string;
  offset: number;
  size: number;
  /** true if the declared size runs past EOF */
  truncated: boolean;
}

export interface TopLevelScan {
  boxes: TopBox[];
  /** Header sizes parallel to `boxes`. */
  headerSizes: number[];
  fileBytes: number;
  /** Offset where parsing stopped on bytes that are not a box header (undefined: walked to EOF). */
  junkAt?: number;
  junkReason?: string;
}

/**
 * Called for each top-level box as the scan finds it. When the whole box lies in the bytes already
 * read it is `win[at, at + box.size)`, else `at` is -1; `win` is the scan's read buffer, valid only
 * during the call (copy what is kept).
 */
export type TopBoxVisitor = (index: number, box: TopBox, headerSize: number, win: Buffer, at: number) => void;

/**
 * Walks the top-level boxes of a file. Reads 16 KB at a time and parses every
 * header that falls inside it, so a small box and the header after it (a
 * fragment's moof and its mdat) cost one read, not two. Throws an
 * Mp4FormatError past LIMITS.maxTopLevelBoxes boxes.
 */
export async function scanTopLevel(fh: FileHandle, fileBytes: number, visit?: TopBoxVisitor): Promise<TopLevelScan> {
  const boxes: TopBox[] = [];
  const headerSizes: number[] = [];
  const WINDOW = 16 * 1024;
  const buf = Buffer.allocUnsafe(Math.min(WINDOW, fileBytes)); // one buffer for every read
  let win: Buffer = buf.subarray(0, 0);
  let winStart = 0;
  let pos = 0;
  while (pos < fileBytes) {
    const want = Math.min(32, fileBytes - pos);
    if (pos < winStart || pos + want > winStart + win.length) {
      win = buf.subarray(0, await readInto(fh, buf, pos, Math.min(WINDOW, fileBytes - pos)));
      winStart = pos;
    }
    const r = parseBoxHeader(win, pos - winStart, fileBytes - pos);
    if (!r.ok) return { boxes, headerSizes, fileBytes, junkAt: pos, junkReason: r.reason };
    const h = r.header;
    const truncated = pos + h.size > fileBytes;
    if (boxes.length >= LIMITS.maxTopLevelBoxes) throw new Mp4FormatError(`more than ${LIMITS.maxTopLevelBoxes} top-level boxes (the next at offset ${pos}): not a recording`);
    const top: TopBox = { type: h.type, offset: pos, size: h.size, truncated };
    boxes.push(top);
    headerSizes.push(h.headerSize);
    if (visit) {
      const at = pos - winStart;
      visit(boxes.length - 1, top, h.headerSize, win, !truncated && at + h.size <= win.length ? at : -1);
    }
    if (truncated) break;
    pos += h.size;
  }
  return { boxes, headerSizes, fileBytes };
}

/** Walks the direct children of a box in the file (e.g. moov) without reading their payloads. */
export async function scanChildrenInFile(fh: FileHandle, start: number, end: number): Promise<Array<{ type: string; offset: number; size: number; headerSize: number }>> {
  const out: Array<{ type: string; offset: number; size: number; headerSize: number }> = [];
  let p = start;
  while (p + 8 <= end) {
    const head = await readAt(fh, p, Math.min(32, end - p));
    const r = parseBoxHeader(head, 0, end - p);
    if (!r.ok || p + r.header.size > end) break;
    out.push({ type: r.header.type, offset: p, size: r.header.size, headerSize: r.header.headerSize });
    p += r.header.size;
  }
  return out;
}

/** Full-box version and flags at payload offset `start`. */
export function fullBoxHeader(b: Uint8Array, start: number): { version: number; flags: number } {
  if (start + 4 > b.length) throw new Mp4FormatError(`full box header at ${start} runs past the ${b.length} bytes read`);
  return { version: b[start]!, flags: ((b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0 };
}

function hex(b: Uint8Array, off: number, n: number): string {
  return Buffer.from(b.subarray(off, off + n)).toString('hex');
}

/** Reads a whole box (a moov or moof to parse) after checking it against a size limit. */
export async function readBox(fh: FileHandle, b: { type: string; offset: number; size: number }, limit: number): Promise<Buffer> {
  if (b.size > limit) throw new Mp4FormatError(`'${b.type}' box at offset ${b.offset} is ${b.size} bytes, more than the ${limit} this parser reads`);
  const bytes = await readAt(fh, b.offset, b.size);
  if (bytes.length !== b.size) throw new Mp4FormatError(`'${b.type}' box at offset ${b.offset} (${b.size} bytes) is cut by the end of the file`);
  return bytes;
}
