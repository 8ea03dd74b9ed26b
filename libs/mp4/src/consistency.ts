// Consistency checks classify runs before it calls a file playable: the moov's sample tables agree with
// each other and point into the file's mdat boxes; every fragment's truns fit their payload and their
// samples lie in the fragment's mdat. Cheap (a pass over tables the file holds anyway, no media data
// read); a failure is an Mp4FormatError naming the table and what is wrong.
import { childNode, nodeAt, walkBoxes, type BoxNode } from './box-tree.js';
import { Mp4FormatError } from './errors.js';
import { audioSampleEntry, avcSampleEntry, sampleEntries } from './sample-entry.js';
import { parseTfhdAt, parseTrex, trunLayout, TFHD_DEFAULT_BASE_IS_MOOF, TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, type TrexDefaults } from './trun.js';

interface SampleTables {
  where: string;
  sampleCount: number;
  /** stsz fixed sample size (0: per-sample sizes in `sizes`). */
  fixedSize: number;
  sizes: DataView | undefined;
  /** stz2 field size in bits (32 for stsz). */
  fieldBits: number;
  stsc: DataView;
  stscCount: number;
  chunks: DataView;
  chunkCount: number;
  chunkWidth: 4 | 8;
}

export interface MoovFacts {
  /** The moov has an mvex (the samples are in fragments). */
  fragmented: boolean;
  trackIds: Set<number>;
  trex: Map<number, TrexDefaults>;
  tables: SampleTables[];
}

const view = (p: Buffer) => new DataView(p.buffer, p.byteOffset, p.byteLength);

function fail(message: string): never {
  throw new Mp4FormatError(message);
}

/** A full box table: `count` entries of `width` bytes after `head` bytes must fit the payload. */
function table(p: Buffer | undefined, type: string, where: string, head: number, width: number): { dv: DataView; count: number } {
  if (!p) fail(`${where} has no ${type}`);
  if (p.length < head) fail(`${where} ${type} is ${p.length} bytes, too short for its header`);
  const dv = view(p);
  const count = dv.getUint32(head - 4);
  if (width > 0 && count > (p.length - head) / width) fail(`${where} ${type} declares ${count} entries but its payload holds at most ${Math.floor((p.length - head) / width)}`);
  return { dv, count };
}

/** Checks every trak's headers and sample tables and returns what the fragments and chunk checks need. */
export function inspectMoov(moov: BoxNode): MoovFacts {
  const facts: MoovFacts = { fragmented: false, trackIds: new Set(), trex: new Map(), tables: [] };
  let k = 0;
  for (const trak of moov.children ?? []) {
    if (trak.type === 'mvex') facts.fragmented = true;
    if (trak.type !== 'trak') continue;
    let where = `trak #${++k}`;
    const tkhd = childNode(trak, 'tkhd')?.payload;
    if (!tkhd) fail(`${where} has no tkhd`);
    if (tkhd.length < (tkhd[0] === 1 ? 96 : 84)) fail(`${where} tkhd is ${tkhd.length} bytes, too short for version ${tkhd[0]}`);
    const trackId = tkhd.readUInt32BE(tkhd[0] === 1 ? 20 : 12);
    if (trackId === 0 || facts.trackIds.has(trackId)) fail(`${where} has track ID ${trackId}, ${trackId === 0 ? 'which is not allowed' : 'already used by another track'}`);
    facts.trackIds.add(trackId);
    where = `track ${trackId}`;
    const mdhd = nodeAt(trak, ['mdia', 'mdhd'])?.payload;
    if (!mdhd) fail(`${where} has no mdia/mdhd`);
    if (mdhd.length < (mdhd[0] === 1 ? 36 : 24)) fail(`${where} mdhd is ${mdhd.length} bytes, too short for version ${mdhd[0]}`);
    if (mdhd.readUInt32BE(mdhd[0] === 1 ? 20 : 12) === 0) fail(`${where} mdhd has timescale 0`);
    const hdlr = nodeAt(trak, ['mdia', 'hdlr'])?.payload;
    if (!hdlr || hdlr.length < 12) fail(`${where} has no usable mdia/hdlr`);
    const stbl = nodeAt(trak, ['mdia', 'minf', 'stbl']);
    if (!stbl) fail(`${where} has no mdia/minf/stbl`);
    facts.tables.push(checkSampleTables(stbl, where));
    const elst = nodeAt(trak, ['edts', 'elst'])?.payload;
    if (elst) table(elst, 'elst', where, 8, elst[0] === 1 ? 20 : 12);
  }
  const mvex = childNode(moov, 'mvex');
  for (const c of mvex?.children ?? []) {
    if (c.type !== 'trex' || !c.payload) continue;
    const t = parseTrex(c.payload);
    facts.trex.set(t.trackId, t);
  }
  return facts;
}

function checkSampleTables(stbl: BoxNode, where: string): SampleTables {
  const stsd = childNode(stbl, 'stsd')?.payload;
  if (!stsd) fail(`${where} has no stsd`);
  const entries = sampleEntries(stsd, `${where} stsd`);
  for (const e of entries) {
    if (e.type === 'avc1' || e.type === 'avc3') avcSampleEntry(stsd, e, `${where} ${e.type}`);
    else if (e.type === 'mp4a') audioSampleEntry(stsd, e, `${where} mp4a`);
  }

  const stszP = childNode(stbl, 'stsz')?.payload;
  const stz2P = stszP ? undefined : childNode(stbl, 'stz2')?.payload;
  let sampleCount: number;
  let fixedSize = 0;
  let fieldBits = 32;
  let sizes: DataView | undefined;
  if (stz2P) {
    if (stz2P.length < 12) fail(`${where} stz2 is ${stz2P.length} bytes, too short for its header`);
    fieldBits = stz2P[7]!;
    if (fieldBits !== 4 && fieldBits !== 8 && fieldBits !== 16) fail(`${where} stz2 has field size ${fieldBits} (4, 8 or 16)`);
    sampleCount = stz2P.readUInt32BE(8);
    if (sampleCount > ((stz2P.length - 12) * 8) / fieldBits) fail(`${where} stz2 declares ${sampleCount} samples but its payload holds at most ${Math.floor(((stz2P.length - 12) * 8) / fieldBits)}`);
    sizes = view(stz2P);
  } else {
    if (!stszP) fail(`${where} has no stsz`);
    if (stszP.length < 12) fail(`${where} stsz is ${stszP.length} bytes, too short for its header`);
    fixedSize = stszP.readUInt32BE(4);
    sampleCount = stszP.readUInt32BE(8);
    if (fixedSize === 0) {
      if (sampleCount > (stszP.length - 12) / 4) fail(`${where} stsz declares ${sampleCount} samples but its payload holds at most ${Math.floor((stszP.length - 12) / 4)}`);
      sizes = view(stszP);
    }
  }

  const stts = table(childNode(stbl, 'stts')?.payload, 'stts', where, 8, 8);
  let timed = 0;
  for (let i = 0; i < stts.count; i++) timed += stts.dv.getUint32(8 + i * 8);
  if (timed !== sampleCount) fail(`${where} stts gives durations for ${timed} samples but stsz declares ${sampleCount}`);

  const cttsP = childNode(stbl, 'ctts')?.payload;
  if (cttsP) {
    const ctts = table(cttsP, 'ctts', where, 8, 8);
    let n = 0;
    for (let i = 0; i < ctts.count; i++) n += ctts.dv.getUint32(8 + i * 8);
    if (n > sampleCount) fail(`${where} ctts gives offsets for ${n} samples but stsz declares ${sampleCount}`);
  }

  const stssP = childNode(stbl, 'stss')?.payload;
  if (stssP) {
    const stss = table(stssP, 'stss', where, 8, 4);
    let prev = 0;
    for (let i = 0; i < stss.count; i++) {
      const s = stss.dv.getUint32(8 + i * 4);
      if (s <= prev || s > sampleCount) fail(`${where} stss entry #${i + 1} is sample ${s} (after ${prev}, of ${sampleCount})`);
      prev = s;
    }
  }

  const stsc = table(childNode(stbl, 'stsc')?.payload, 'stsc', where, 8, 12);
  let prevFirst = 0;
  for (let i = 0; i < stsc.count; i++) {
    const first = stsc.dv.getUint32(8 + i * 12);
    const perChunk = stsc.dv.getUint32(12 + i * 12);
    const desc = stsc.dv.getUint32(16 + i * 12);
    if (i === 0 ? first !== 1 : first <= prevFirst) fail(`${where} stsc entry #${i + 1} starts at chunk ${first} (${i === 0 ? 'the first must start at 1' : `after ${prevFirst}`})`);
    if (perChunk === 0) fail(`${where} stsc entry #${i + 1} has 0 samples per chunk`);
    if (desc === 0 || desc > entries.length) fail(`${where} stsc entry #${i + 1} uses sample description ${desc} of ${entries.length}`);
    prevFirst = first;
  }

  const stcoP = childNode(stbl, 'stco')?.payload;
  const co64P = stcoP ? undefined : childNode(stbl, 'co64')?.payload;
  if (!stcoP && !co64P) fail(`${where} has no stco/co64`);
  const chunkWidth = stcoP ? 4 : 8;
  const co = table(stcoP ?? co64P, stcoP ? 'stco' : 'co64', where, 8, chunkWidth);
  return { where, sampleCount, fixedSize, sizes, fieldBits, stsc: stsc.dv, stscCount: stsc.count, chunks: co.dv, chunkCount: co.count, chunkWidth };
}

/** A sorted list of byte ranges [start, end) (the payloads of the file's complete mdat boxes). */
export type Ranges = ReadonlyArray<{ start: number; end: number }>;

function inside(ranges: Ranges, start: number, end: number, hint: { i: number }): boolean {
  const r = ranges[hint.i];
  if (r && start >= r.start && end <= r.end) return true;
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = ranges[mid]!;
    if (start < m.start) hi = mid - 1;
    else if (start >= m.end && !(start === m.end && end === start)) lo = mid + 1;
    else {
      hint.i = mid;
      return end <= m.end;
    }
  }
  return false;
}

/**
 * Walks each track's chunks (stsc × stco × stsz): they must hold exactly the samples stsz declares,
 * and each chunk's bytes must lie inside one of `mdats`.
 */
export function checkChunks(facts: MoovFacts, mdats: Ranges): void {
  for (const t of facts.tables) {
    const size = (i: number): number => {
      if (t.fixedSize) return t.fixedSize;
      const dv = t.sizes!;
      if (t.fieldBits === 32) return dv.getUint32(12 + i * 4);
      if (t.fieldBits === 16) return dv.getUint16(12 + i * 2);
      if (t.fieldBits === 8) return dv.getUint8(12 + i);
      const b = dv.getUint8(12 + (i >> 1));
      return i & 1 ? b & 0x0f : b >> 4;
    };
    const hint = { i: 0 };
    let sample = 0;
    for (let e = 0; e < t.stscCount; e++) {
      const first = t.stsc.getUint32(8 + e * 12) - 1;
      const perChunk = t.stsc.getUint32(12 + e * 12);
      const next = e + 1 < t.stscCount ? t.stsc.getUint32(8 + (e + 1) * 12) - 1 : t.chunkCount;
      if (next > t.chunkCount) fail(`${t.where} stsc refers to chunk ${next + 1} but stco has ${t.chunkCount}`);
      for (let ch = first; ch < next; ch++) {
        if (sample + perChunk > t.sampleCount) fail(`${t.where} chunks hold more samples than the ${t.sampleCount} stsz declares (chunk ${ch + 1} of ${t.chunkCount})`);
        let bytes = 0;
        if (t.fixedSize) bytes = perChunk * t.fixedSize;
        else for (let i = sample; i < sample + perChunk; i++) bytes += size(i);
        const off = t.chunkWidth === 4 ? t.chunks.getUint32(8 + ch * 4) : Number(t.chunks.getBigUint64(8 + ch * 8));
        if (bytes > 0 && !inside(mdats, off, off + bytes, hint)) fail(`${t.where} chunk ${ch + 1} (${bytes} bytes at offset ${off}) is not inside an mdat of the file`);
        sample += perChunk;
      }
    }
    if (sample !== t.sampleCount) fail(`${t.where} stsc/stco place ${sample} samples but stsz declares ${t.sampleCount}`);
  }
}

/** One trun of a fragment, resolved to file offsets. */
export interface RunExtent {
  moof: number;
  track: number;
  count: number;
  start: number;
  end: number;
}

const runLabel = (r: RunExtent) => `trun in moof #${r.moof} (track ${r.track})`;

/**
 * Checks one moof box (`b` = the whole box, at file offset `moofStart`) straight from its bytes, the
 * way describeFragment reads it but building nothing per sample: the box tree is well formed, every
 * traf has a tfhd and is for a track of the moov, every trun fits its payload and has sizes for its
 * samples. Returns where each run's samples are, to check against the mdat.
 */
export function inspectFragment(b: Buffer, moofStart: number, k: number, facts: MoovFacts): RunExtent[] {
  const where = `moof #${k}`;
  interface Traf {
    leaf: boolean;
    tfhd?: number;
    tfhdEnd?: number;
    tfdt?: number;
    tfdtEnd?: number;
    truns: number[];
  }
  const trafs: Traf[] = [];
  let cur: Traf | undefined;
  walkBoxes(b, 0, b.length, moofStart, (depth, type, offset, _headerSize, end, container) => {
    if (depth === 1) {
      cur = type === 'traf' ? { leaf: !container, truns: [] } : undefined;
      if (cur) trafs.push(cur);
    } else if (depth === 2 && cur) {
      // Payloads as the box tree keeps them: from 8 bytes into the box.
      if (type === 'tfhd' && cur.tfhd === undefined) (cur.tfhd = offset + 8), (cur.tfhdEnd = end);
      else if (type === 'tfdt' && cur.tfdt === undefined) (cur.tfdt = offset + 8), (cur.tfdtEnd = end);
      else if (type === 'trun') cur.truns.push(offset + 8, end);
    }
  });
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: RunExtent[] = [];
  let prevTrafEnd = moofStart;
  let firstTraf = true;
  const tracks: number[] = [];
  for (const t of trafs) {
    if (t.tfhd === undefined) fail(`traf in ${where} has no tfhd`);
    const tfhd = parseTfhdAt(b, t.tfhd, t.tfhdEnd!, `tfhd in ${where}`);
    tracks.push(tfhd.trackId);
    const tx = facts.trex.get(tfhd.trackId);
    const base = tfhd.baseDataOffset ?? (tfhd.flags & TFHD_DEFAULT_BASE_IS_MOOF || firstTraf ? moofStart : prevTrafEnd);
    const fixedSize = tfhd.defaultSampleSize ?? tx?.defaultSampleSize;
    let pos = base;
    let firstRun = true;
    for (let i = 0; i < t.truns.length; i += 2) {
      const run = { moof: k, track: tfhd.trackId, count: 0, start: 0, end: 0 };
      const l = trunLayout(b, dv, t.truns[i]!, t.truns[i + 1]!, () => runLabel(run));
      let bytes = 0;
      if (l.flags & TRUN_SAMPLE_SIZE) {
        const at = l.samples + (l.flags & TRUN_SAMPLE_DURATION ? 4 : 0);
        for (let s = 0; s < l.count; s++) bytes += dv.getUint32(at + s * l.per);
      } else if (fixedSize === undefined) {
        if (l.count > 0) fail(`${runLabel(run)} gives no size for its ${l.count} samples (no per-sample, tfhd or trex size)`);
      } else bytes = l.count * fixedSize;
      pos = l.dataOffset !== undefined ? base + l.dataOffset : firstRun ? base : pos;
      run.count = l.count;
      run.start = pos;
      run.end = pos + bytes;
      out.push(run);
      pos += bytes;
      firstRun = false;
    }
    prevTrafEnd = pos;
    firstTraf = false;
  }
  trafs.forEach((t, i) => {
    const track = tracks[i]!;
    if (!facts.trackIds.has(track)) fail(`traf in ${where} is for track ${track}, which the moov does not declare`);
    if (t.tfdt !== undefined) {
      const n = t.tfdtEnd! - t.tfdt;
      if (n < (b[t.tfdt] === 1 ? 12 : 8)) fail(`tfdt in ${where} (track ${track}) is ${n} bytes, too short for version ${b[t.tfdt]}`);
    }
  });
  return out;
}

/** The runs of a fragment against its mdat's payload [start, end): at least a byte per sample, all inside. */
export function checkFragmentData(runs: readonly RunExtent[], start: number, end: number): void {
  for (const r of runs) {
    if (r.count === 0) continue;
    if (r.count > end - start) fail(`${runLabel(r)} declares ${r.count} samples but its mdat holds only ${end - start} bytes`);
    if (r.start < start || r.end > end) fail(`${runLabel(r)} puts its ${r.count} samples at bytes ${r.start}-${r.end} of the file, outside its mdat's payload (${start}-${end})`);
  }
}
