// A small in-memory box tree for editing metadata boxes (moov, moof) and writing them back.
import { fourcc, isPlausibleType, parseBoxHeader } from './box-reader.js';
import { ByteWriter } from './box-writer.js';
import { LIMITS, Mp4FormatError } from './errors.js';

/** Boxes whose payload is only child boxes. Everything else is kept as opaque payload bytes. */
export const CONTAINER_TYPES: ReadonlySet<string> = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf', 'mvex', 'moof', 'traf', 'mfra']);

export interface BoxNode {
  type: string;
  /** Payload of a leaf box (after the 8/16-byte header). */
  payload?: Buffer;
  /** Children of a container box. */
  children?: BoxNode[];
}

/** Sees one box of a walk: depth 0 = the top of the range; `end` = just past the box. */
export type BoxVisitor = (depth: number, type: string, offset: number, headerSize: number, end: number, container: boolean) => void;

/**
 * Walks the boxes of b[start, end) depth-first (pre-order) without building a tree, descending into
 * container boxes — iteratively, at most LIMITS.maxDepth containers deep and LIMITS.maxBoxes boxes
 * in all; any malformed, overrunning or excess box is an Mp4FormatError. `base` is the file offset of
 * b[0], for the messages.
 */
export function walkBoxes(b: Buffer, start: number, end: number, base: number, visit: BoxVisitor): void {
  if (end > b.length) throw new Mp4FormatError(`box range ${base + start}-${base + end} runs past the ${b.length} bytes read`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ends: number[] = [end];
  const types: string[] = [];
  let count = 0;
  let p = start;
  for (;;) {
    let depth = ends.length - 1;
    while (p >= ends[depth]!) {
      if (depth === 0) return;
      ends.pop();
      types.pop();
      depth--;
    }
    const limit = ends[depth]!;
    let type: string;
    let size: number;
    let headerSize = 8;
    const size32 = limit - p >= 8 ? dv.getUint32(p) : 0;
    if (size32 >= 8 && p + size32 <= limit && isPlausibleType(b, p + 4) && !(b[p + 4] === 0x75 && b[p + 5] === 0x75 && b[p + 6] === 0x69 && b[p + 7] === 0x64)) {
      type = fourcc(b, p + 4); // the common case: 32-bit size, not 'uuid'
      size = size32;
    } else {
      const r = parseBoxHeader(b, p, limit - p);
      if (!r.ok) {
        // QuickTime allows a 32-bit zero terminator at the end of some containers.
        if (limit - p === 4 && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0) {
          p = limit;
          continue;
        }
        throw new Mp4FormatError(`bad box at offset ${base + p}: ${r.reason}`);
      }
      ({ type, size, headerSize } = r.header);
      if (p + size > limit) throw new Mp4FormatError(`'${type}' box at offset ${base + p} (size ${size}) runs past its container (ends at ${base + limit})`);
    }
    if (++count > LIMITS.maxBoxes) throw new Mp4FormatError(`more than ${LIMITS.maxBoxes} boxes inside ${types[0] ?? 'the range'} (the next at offset ${base + p})`);
    const container = headerSize === 8 && CONTAINER_TYPES.has(type);
    if (container && ends.length > LIMITS.maxDepth) {
      throw new Mp4FormatError(`boxes nested more than ${LIMITS.maxDepth} deep ('${type}' at offset ${base + p}, inside ${types.slice(0, 3).join('/')}/...)`);
    }
    visit(depth, type, p, headerSize, p + size, container);
    if (container) {
      ends.push(p + size);
      types.push(type);
      p += 8;
    } else p += size;
  }
}

/**
 * Parses b[start, end) into nodes, descending into container boxes (walkBoxes: same limits, an
 * Mp4FormatError past them). `base` is the file offset of b[0], for the messages.
 */
export function parseBoxes(b: Buffer, start: number, end: number, base = 0): BoxNode[] {
  const out: BoxNode[] = [];
  const levels: BoxNode[][] = [out];
  walkBoxes(b, start, end, base, (depth, type, offset, _headerSize, boxEnd, container) => {
    if (container) {
      const node: BoxNode = { type, children: [] };
      levels[depth]!.push(node);
      levels[depth + 1] = node.children!;
    } else levels[depth]!.push({ type, payload: b.subarray(offset + 8, boxEnd) }); // keeps uuid/extended header bytes in the payload
  });
  return out;
}

/** Parses one box (e.g. a moov read from disk at file offset `base`) into a node. */
export function parseBox(b: Buffer, base = 0): BoxNode {
  const [node] = parseBoxes(b, 0, b.length, base);
  if (!node) throw new Mp4FormatError('no box in buffer');
  return node;
}

export function nodeSize(n: BoxNode): number {
  let payload = 0;
  if (n.children) for (const c of n.children) payload += nodeSize(c);
  else payload = n.payload?.length ?? 0;
  return payload + 8 > 0xffffffff ? payload + 16 : payload + 8;
}

function writeNode(w: ByteWriter, n: BoxNode): void {
  const size = nodeSize(n);
  if (size > 0xffffffff) w.u32(1).fourcc(n.type).u64(size);
  else w.u32(size).fourcc(n.type);
  if (n.children) for (const c of n.children) writeNode(w, c);
  else if (n.payload) w.bytes(n.payload);
}

export function serializeNode(n: BoxNode): Buffer {
  const w = new ByteWriter(nodeSize(n));
  writeNode(w, n);
  return w.toBuffer();
}

/** Depth-first list of all nodes of a type under `root` (root included); iterative. */
export function collectNodes(root: BoxNode, type: string, out: BoxNode[] = []): BoxNode[] {
  const stack: BoxNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === type) out.push(n);
    if (n.children) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}

/** The first child with the given type. */
export function childNode(n: BoxNode, type: string): BoxNode | undefined {
  return n.children?.find((c) => c.type === type);
}

/** Follows a path of types below `n`. */
export function nodeAt(n: BoxNode, path: readonly string[]): BoxNode | undefined {
  let cur: BoxNode | undefined = n;
  for (const t of path) {
    cur = cur ? childNode(cur, t) : undefined;
    if (!cur) return undefined;
  }
  return cur;
}
