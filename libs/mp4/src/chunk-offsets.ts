// Chunk offset tables (stco 32-bit / co64 64-bit): reading, writing and relocating them inside a moov.
import { ByteWriter } from './box-writer.js';
import { collectNodes, nodeSize, type BoxNode } from './box-tree.js';
import { Mp4FormatError } from './errors.js';

const MAX_U32 = 0xffffffff;

/** Offsets held by an stco or co64 node. */
export function readChunkOffsets(n: BoxNode): Float64Array {
  const p = n.payload;
  if (!p || (n.type !== 'stco' && n.type !== 'co64')) throw new Error(`not a chunk offset box: ${n.type}`);
  if (p.length < 8) throw new Mp4FormatError(`${n.type} is ${p.length} bytes, too short for its entry count`);
  const count = p.readUInt32BE(4);
  const width = n.type === 'co64' ? 8 : 4;
  if (8 + count * width > p.length) throw new Mp4FormatError(`${n.type} declares ${count} entries but holds ${Math.floor((p.length - 8) / width)}`);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = width === 8 ? Number(p.readBigUInt64BE(8 + i * 8)) : p.readUInt32BE(8 + i * 4);
  return out;
}

/** An stco (or co64 when asked or when any offset needs it) node with the given offsets. */
export function chunkOffsetNode(offsets: ArrayLike<number>, co64 = false): BoxNode {
  let wide = co64;
  for (let i = 0; i < offsets.length && !wide; i++) if (offsets[i]! > MAX_U32) wide = true;
  const w = new ByteWriter(8 + offsets.length * (wide ? 8 : 4));
  w.u32(0).u32(offsets.length);
  for (let i = 0; i < offsets.length; i++) {
    const v = offsets[i]!;
    if (v < 0 || !Number.isSafeInteger(v)) throw new Error(`bad chunk offset ${v}`);
    if (wide) w.u64(v);
    else w.u32(v);
  }
  return { type: wide ? 'co64' : 'stco', payload: w.toBuffer() };
}

export interface RelocationResult {
  /** Number of stco tables that had to become co64. */
  convertedToCo64: number;
  /** Size of the moov after the rewrite. */
  moovSize: number;
  chunkCount: number;
}

/**
 * Rewrites every chunk offset table in `moov` through `mapFor(moovSize)` — the mapping may depend on
 * the final moov size (faststart: data moves by the size of the moov placed before it). Keeps stco
 * where possible; if any mapped offset would exceed 2^32-1, all stco tables become co64 (which grows
 * the moov by 4 bytes per chunk, so the mapping is recomputed for the larger size).
 */
export function relocateChunkOffsets(moov: BoxNode, mapFor: (moovSize: number) => (offset: number) => number): RelocationResult {
  const tables: Array<{ stbl: BoxNode; node: BoxNode; offsets: Float64Array }> = [];
  for (const stbl of collectNodes(moov, 'stbl')) {
    const children = stbl.children ?? [];
    for (let i = 0; i < children.length; i++) {
      const node = children[i]!;
      if (node.type !== 'stco' && node.type !== 'co64') continue;
      // Rewritten at once in its exact size (a table may hold bytes after its entries), so that the
      // moov size the mapping is computed for is the size it ends up with.
      const offsets = readChunkOffsets(node);
      const exact = chunkOffsetNode(offsets, node.type === 'co64');
      children[i] = exact;
      tables.push({ stbl, node: exact, offsets });
    }
  }
  const chunkCount = tables.reduce((n, t) => n + t.offsets.length, 0);
  const apply = (co64: boolean, map: (o: number) => number) => {
    for (const t of tables) {
      const mapped = t.offsets.map(map);
      const next = chunkOffsetNode(mapped, co64 || t.node.type === 'co64');
      const i = t.stbl.children!.indexOf(t.node);
      t.stbl.children![i] = next;
      t.node = next;
    }
  };
  const size32 = nodeSize(moov);
  const map32 = mapFor(size32);
  const fits = tables.every((t) => t.node.type === 'co64' || t.offsets.every((o) => map32(o) <= MAX_U32));
  if (fits) {
    apply(false, map32);
    return { convertedToCo64: 0, moovSize: nodeSize(moov), chunkCount };
  }
  const converted = tables.filter((t) => t.node.type === 'stco');
  const size64 = size32 + converted.reduce((n, t) => n + 4 * t.offsets.length, 0);
  apply(true, mapFor(size64));
  const moovSize = nodeSize(moov);
  if (moovSize !== size64) throw new Error(`internal: moov size ${moovSize} after co64 switch, expected ${size64}`);
  return { convertedToCo64: converted.length, moovSize, chunkCount };
}
