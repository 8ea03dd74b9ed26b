// A small in-memory box tree for editing metadata boxes (moov, moof) and writing them back.
import { childBoxes } from './box-reader.js';
import { ByteWriter } from './box-writer.js';

/** Boxes whose payload is only child boxes. Everything else is kept as opaque payload bytes. */
export const CONTAINER_TYPES: ReadonlySet<string> = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf', 'mvex', 'moof', 'traf', 'mfra']);

export interface BoxNode {
  type: string;
  /** Payload of a leaf box (after the 8/16-byte header). */
  payload?: Buffer;
  /** Children of a container box. */
  children?: BoxNode[];
}

/** Parses b[start, end) into nodes, descending into container boxes. */
export function parseBoxes(b: Buffer, start: number, end: number): BoxNode[] {
  const out: BoxNode[] = [];
  for (const c of childBoxes(b, start, end)) {
    if (CONTAINER_TYPES.has(c.type) && c.headerSize === 8) out.push({ type: c.type, children: parseBoxes(b, c.start, c.end) });
    else out.push({ type: c.type, payload: b.subarray(c.offset + 8, c.end) }); // keeps uuid/extended header bytes in the payload
  }
  return out;
}

/** Parses one box (e.g. a moov read from disk) into a node. */
export function parseBox(b: Buffer): BoxNode {
  const [node] = parseBoxes(b, 0, b.length);
  if (!node) throw new Error('no box in buffer');
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

/** Depth-first list of all nodes of a type under `root` (root included). */
export function collectNodes(root: BoxNode, type: string, out: BoxNode[] = []): BoxNode[] {
  if (root.type === type) out.push(root);
  if (root.children) for (const c of root.children) collectNodes(c, type, out);
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
