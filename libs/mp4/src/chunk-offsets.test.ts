import { describe, expect, it } from 'vitest';
import { box, ByteWriter, fullBox } from './box-writer.js';
import { collectNodes, nodeSize, parseBox, serializeNode } from './box-tree.js';
import { readChunkOffsets, relocateChunkOffsets } from './chunk-offsets.js';
import { buildMoov, needsCo64, type TrackTables } from './moov-writer.js';

function stco(offsets: number[], wide = false): Buffer {
  const w = new ByteWriter().u32(offsets.length);
  for (const o of offsets) {
    if (wide) w.u64(o);
    else w.u32(o);
  }
  return fullBox(wide ? 'co64' : 'stco', 0, 0, w.toBuffer());
}

function moovWith(...tables: Buffer[]): Buffer {
  const traks = tables.map((t) => box('trak', box('mdia', box('minf', box('stbl', box('stsz', Buffer.alloc(12)), t)))));
  return box('moov', box('mvhd', Buffer.alloc(100)), ...traks);
}

const GiB4 = 2 ** 32;

describe('relocating chunk offsets', () => {
  it('shifts stco offsets and keeps 32-bit tables when they fit', () => {
    const moov = parseBox(moovWith(stco([40, 5000]), stco([100])));
    const before = nodeSize(moov);
    const r = relocateChunkOffsets(moov, (size) => (o) => o + size);
    expect(r).toEqual({ convertedToCo64: 0, moovSize: before, chunkCount: 3 });
    const tables = collectNodes(moov, 'stco').map(readChunkOffsets);
    expect(tables.map((t) => Array.from(t))).toEqual([[40 + before, 5000 + before], [100 + before]]);
  });

  it('switches every stco to co64 when an offset would pass 2^32 - 1, sizing the shift for the larger moov', () => {
    const moov = parseBox(moovWith(stco([40, GiB4 - 100]), stco([64])));
    const before = nodeSize(moov);
    const r = relocateChunkOffsets(moov, (size) => (o) => o + size);
    expect(r.convertedToCo64).toBe(2);
    expect(r.moovSize).toBe(before + 3 * 4);
    expect(collectNodes(moov, 'stco')).toHaveLength(0);
    const tables = collectNodes(moov, 'co64').map(readChunkOffsets);
    expect(tables.map((t) => Array.from(t))).toEqual([[40 + r.moovSize, GiB4 - 100 + r.moovSize], [64 + r.moovSize]]);
    // The rewritten moov parses back with the same size.
    const bytes = serializeNode(moov);
    expect(bytes.length).toBe(r.moovSize);
    expect(nodeSize(parseBox(bytes))).toBe(r.moovSize);
  });

  it('sizes the shift for the moov it writes when a table holds bytes after its entries (fuzz crasher bb5f176368744aaa)', () => {
    const padded = Buffer.concat([stco([40, 5000]), Buffer.alloc(12)]);
    padded.writeUInt32BE(padded.length, 0);
    const moov = parseBox(moovWith(padded));
    const r = relocateChunkOffsets(moov, (size) => (o) => o + size);
    expect(r.moovSize).toBe(serializeNode(moov).length);
    expect(Array.from(readChunkOffsets(collectNodes(moov, 'stco')[0]!))).toEqual([40 + r.moovSize, 5000 + r.moovSize]);
  });

  it('handles co64 input', () => {
    const moov = parseBox(moovWith(stco([GiB4 + 10, GiB4 + 20], true)));
    relocateChunkOffsets(moov, () => (o) => o - 8);
    expect(Array.from(readChunkOffsets(collectNodes(moov, 'co64')[0]!))).toEqual([GiB4 + 2, GiB4 + 12]);
  });
});

describe('moov writer', () => {
  const track = (offsets: number[], sizes: number[]): TrackTables => ({
    trackId: 1,
    handler: 'vide',
    timescale: 15360,
    language: 0x55c4,
    sampleDelta: 1024,
    stsd: new ByteWriter().u32(0).u32(0).toBuffer(),
    hdlr: Buffer.from('00000000766964650000000000000000000000004100', 'hex'),
    mediaHeader: { type: 'vmhd', payload: Buffer.from('000000010000000000000000', 'hex') },
    tkhdWidth: 640 << 16,
    tkhdHeight: 360 << 16,
    alternateGroup: 0,
    offsets: Float64Array.from(offsets),
    sizes: Uint32Array.from(sizes),
    sync: Uint32Array.from([0, 3]),
    editMediaTime: 0,
  });

  it('groups contiguous samples into chunks and writes stsc/stsz/stss/stco', () => {
    const t = track([100, 110, 140, 500, 510], [10, 20, 5, 10, 10]);
    const moov = parseBox(buildMoov([t], false));
    const stbl = collectNodes(moov, 'stbl')[0]!;
    const get = (type: string) => stbl.children!.find((c) => c.type === type)!.payload!;
    expect(Array.from(readChunkOffsets({ type: 'stco', payload: get('stco') }))).toEqual([100, 140, 500]);
    // stsc: chunk 1 has 2 samples, chunk 2 has 1, chunk 3 has 2
    const stsc = get('stsc');
    expect(stsc.readUInt32BE(4)).toBe(3);
    expect([stsc.readUInt32BE(8), stsc.readUInt32BE(12), stsc.readUInt32BE(20), stsc.readUInt32BE(24), stsc.readUInt32BE(32), stsc.readUInt32BE(36)]).toEqual([1, 2, 2, 1, 3, 2]);
    expect(get('stsz').readUInt32BE(8)).toBe(5);
    expect([get('stss').readUInt32BE(4), get('stss').readUInt32BE(8), get('stss').readUInt32BE(12)]).toEqual([2, 1, 4]);
  });

  it('uses co64 when asked', () => {
    const t = track([GiB4 + 5], [10]);
    expect(needsCo64([t])).toBe(true);
    const moov = parseBox(buildMoov([t], true));
    expect(Array.from(readChunkOffsets(collectNodes(moov, 'co64')[0]!))).toEqual([GiB4 + 5]);
  });
});
