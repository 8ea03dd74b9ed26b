// Writes a complete moov for tracks given as sample tables (offsets, sizes, sync samples, timing).
import { box, ByteWriter, fullBox } from './box-writer.js';
import { serializeNode } from './box-tree.js';
import type { TrackLayout } from './reference.js';

/** A track to write: the layout taken from the reference, plus the rebuilt sample tables. */
export interface TrackTables extends TrackLayout {
  handler: 'vide' | 'soun';
  /** Absolute sample offsets in the output file, and sizes. */
  offsets: Float64Array;
  sizes: Uint32Array;
  /** 0-based sync sample indexes; undefined = every sample is a sync sample. */
  sync?: Uint32Array;
  /** Composition offsets per sample (media timescale), when presentation order differs. */
  compositionOffsets?: Int32Array;
}

const MOVIE_TIMESCALE = 1000;
const MAX_U32 = 0xffffffff;
const IDENTITY_MATRIX = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];

/** Builds the moov box. `co64` forces 64-bit chunk offsets (needed when any offset passes 4 GiB). */
export function buildMoov(tracks: TrackTables[], co64: boolean): Buffer {
  const durations = tracks.map((t) => presentationDuration(t));
  const movieDuration = Math.max(0, ...durations);
  const parts: Uint8Array[] = [mvhd(movieDuration, Math.max(0, ...tracks.map((t) => t.trackId)) + 1)];
  tracks.forEach((t, i) => parts.push(trak(t, durations[i]!, co64)));
  return box('moov', ...parts);
}

/** True if any chunk offset of the tracks needs co64. */
export function needsCo64(tracks: TrackTables[]): boolean {
  for (const t of tracks) for (let i = 0; i < t.offsets.length; i++) if (t.offsets[i]! > MAX_U32) return true;
  return false;
}

/** Duration of the track's edit in the movie timescale: from the edit's media time to the end of the last composition. */
function presentationDuration(t: TrackTables): number {
  let end = t.sizes.length * t.sampleDelta;
  if (t.compositionOffsets) {
    for (let i = 0; i < t.compositionOffsets.length; i++) end = Math.max(end, (i + 1) * t.sampleDelta + t.compositionOffsets[i]!);
  }
  const media = end - t.editMediaTime;
  return Math.max(0, Math.round((media * MOVIE_TIMESCALE) / t.timescale));
}

function mvhd(duration: number, nextTrackId: number): Buffer {
  const v1 = duration > MAX_U32;
  const w = new ByteWriter(112);
  if (v1) w.u64(0).u64(0).u32(MOVIE_TIMESCALE).u64(duration);
  else w.u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(duration);
  w.u32(0x00010000).u16(0x0100).zeros(10);
  for (const m of IDENTITY_MATRIX) w.u32(m);
  w.zeros(24).u32(nextTrackId);
  return fullBox('mvhd', v1 ? 1 : 0, 0, w.toBuffer());
}

function trak(t: TrackTables, duration: number, co64: boolean): Buffer {
  const parts: Uint8Array[] = [tkhd(t, duration)];
  if (t.editMediaTime > 0) {
    const w = new ByteWriter(20).u32(1).u32(duration).i32(t.editMediaTime).u16(1).u16(0);
    parts.push(box('edts', fullBox('elst', 0, 0, w.toBuffer())));
  }
  parts.push(box('mdia', mdhd(t), box('hdlr', t.hdlr), minf(t, co64)));
  return box('trak', ...parts);
}

function tkhd(t: TrackTables, duration: number): Buffer {
  const v1 = duration > MAX_U32;
  const w = new ByteWriter(96);
  if (v1) w.u64(0).u64(0).u32(t.trackId).u32(0).u64(duration);
  else w.u32(0).u32(0).u32(t.trackId).u32(0).u32(duration);
  w.zeros(8).u16(0).u16(t.alternateGroup).u16(t.handler === 'soun' ? 0x0100 : 0).u16(0);
  for (const m of IDENTITY_MATRIX) w.u32(m);
  w.u32(t.handler === 'vide' ? t.tkhdWidth : 0).u32(t.handler === 'vide' ? t.tkhdHeight : 0);
  return fullBox('tkhd', v1 ? 1 : 0, 3, w.toBuffer());
}

function mdhd(t: TrackTables): Buffer {
  const duration = t.sizes.length * t.sampleDelta;
  const v1 = duration > MAX_U32;
  const w = new ByteWriter(36);
  if (v1) w.u64(0).u64(0).u32(t.timescale).u64(duration);
  else w.u32(0).u32(0).u32(t.timescale).u32(duration);
  w.u16(t.language).u16(0);
  return fullBox('mdhd', v1 ? 1 : 0, 0, w.toBuffer());
}

function minf(t: TrackTables, co64: boolean): Buffer {
  const dref = fullBox('dref', 0, 0, new ByteWriter(4).u32(1).toBuffer(), fullBox('url ', 0, 1));
  return box('minf', serializeNode(t.mediaHeader), box('dinf', dref), stbl(t, co64));
}

function stbl(t: TrackTables, co64: boolean): Buffer {
  const n = t.sizes.length;
  const parts: Uint8Array[] = [box('stsd', t.stsd)];
  parts.push(fullBox('stts', 0, 0, n ? new ByteWriter(12).u32(1).u32(n).u32(t.sampleDelta).toBuffer() : new ByteWriter(4).u32(0).toBuffer()));
  if (t.compositionOffsets) parts.push(ctts(t.compositionOffsets));
  if (t.sync && t.sync.length < n) {
    const w = new ByteWriter(4 + t.sync.length * 4).u32(t.sync.length);
    for (const i of t.sync) w.u32(i + 1);
    parts.push(fullBox('stss', 0, 0, w.toBuffer()));
  }
  // Chunks: runs of samples that follow each other in the file.
  const chunkOffsets: number[] = [];
  const perChunk: number[] = [];
  for (let i = 0; i < n; i++) {
    const off = t.offsets[i]!;
    if (i > 0 && off === t.offsets[i - 1]! + t.sizes[i - 1]!) perChunk[perChunk.length - 1]!++;
    else {
      chunkOffsets.push(off);
      perChunk.push(1);
    }
  }
  const stsc = new ByteWriter(16 + perChunk.length * 4);
  const entries: Array<[number, number]> = [];
  for (let c = 0; c < perChunk.length; c++) if (c === 0 || perChunk[c] !== perChunk[c - 1]) entries.push([c + 1, perChunk[c]!]);
  stsc.u32(entries.length);
  for (const [first, count] of entries) stsc.u32(first).u32(count).u32(1);
  parts.push(fullBox('stsc', 0, 0, stsc.toBuffer()));
  const stsz = new ByteWriter(8 + n * 4).u32(0).u32(n);
  for (let i = 0; i < n; i++) stsz.u32(t.sizes[i]!);
  parts.push(fullBox('stsz', 0, 0, stsz.toBuffer()));
  const co = new ByteWriter(4 + chunkOffsets.length * (co64 ? 8 : 4)).u32(chunkOffsets.length);
  for (const o of chunkOffsets) {
    if (co64) co.u64(o);
    else co.u32(o);
  }
  parts.push(fullBox(co64 ? 'co64' : 'stco', 0, 0, co.toBuffer()));
  if (t.sampleGroups && n) {
    parts.push(box('sgpd', t.sampleGroups.sgpd));
    const w = new ByteWriter(16).fourcc(t.sampleGroups.groupingType).u32(1).u32(n).u32(t.sampleGroups.descriptionIndex);
    parts.push(fullBox('sbgp', 0, 0, w.toBuffer()));
  }
  return box('stbl', ...parts);
}

function ctts(offsets: Int32Array): Buffer {
  const entries: Array<[number, number]> = [];
  for (let i = 0; i < offsets.length; i++) {
    const last = entries[entries.length - 1];
    if (last && last[1] === offsets[i]) last[0]++;
    else entries.push([1, offsets[i]!]);
  }
  const w = new ByteWriter(4 + entries.length * 8).u32(entries.length);
  for (const [count, off] of entries) w.u32(count).u32(off);
  return fullBox('ctts', 0, 0, w.toBuffer());
}
