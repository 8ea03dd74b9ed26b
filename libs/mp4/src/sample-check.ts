// The structural half of "this file plays", without decoding: on top of classify's checks (tables
// consistent, every chunk inside an mdat), every video sample is read where the tables put it and its
// H.264 NAL units must walk exactly to the sample's end (length prefixes, headers), it must hold a
// slice, and its keyframe flag must agree with its slices (a sync sample starts with an IDR or an I
// slice, no IDR is left unflagged); the samples of different tracks must not overlap. It reads a few
// KB per sample (positioned reads, no media data copied whole), so 1 GB at 40 Mb/s costs ~30 ms.
// It also returns where the first and the last GOP are, for a decode of just those.
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { readBox } from './box-reader.js';
import { childNode, nodeAt, parseBox, type BoxNode } from './box-tree.js';
import { classifyOpen } from './classify.js';
import { asMp4Error, isIoError, LIMITS, Mp4FormatError } from './errors.js';
import { describeFragment } from './fragment-trim.js';
import { handlerOf, trackIdOf, trexDefaults } from './moov-info.js';
import { avcSampleEntry, sampleEntries } from './sample-entry.js';
import { unescapeRbsp } from './bit-reader.js';
import { GrowableF64, GrowableU32 } from './growable.js';

/** Where the video's GOPs are, in seconds of decode time from the first sample. */
export interface GopTimes {
  /** Start of the second GOP (= duration when there is one GOP). */
  firstGopEnd: number;
  /** Start of the last GOP. */
  lastGopStart: number;
  /** The video track's duration. */
  duration: number;
  gops: number;
}

export interface SampleCheck {
  ok: boolean;
  /** One line: what was checked, or the first problem. */
  detail: string;
  videoSamples: number;
  syncSamples: number;
  /** NAL units walked. */
  nals: number;
  /** Bytes read to do it (a small fraction of the file). */
  bytesRead: number;
  /** Undefined when the file has no H.264 video track. */
  gops?: GopTimes;
}

function fail(message: string): never {
  throw new Mp4FormatError(message);
}

/** A track's samples as the tables place them (typed arrays: a few bytes per sample). */
interface Track {
  id: number;
  handler: string;
  timescale: number;
  lengthSize?: number;
  offsets: GrowableF64;
  sizes: GrowableU32;
  /** Decode times (track timescale) of the sync samples, and their indexes. */
  syncDts: GrowableF64;
  sync: GrowableU32;
  /** Decode time of the first sample, and at the end of the last. */
  start?: number;
  end: number;
}

function newTrack(id: number, handler: string, timescale: number, lengthSize: number | undefined): Track {
  return { id, handler, timescale, offsets: new GrowableF64(), sizes: new GrowableU32(), syncDts: new GrowableF64(), sync: new GrowableU32(), end: 0, ...(lengthSize !== undefined ? { lengthSize } : {}) };
}

function addSample(t: Track, offset: number, size: number, sync: boolean, dts: number): void {
  if (t.start === undefined) t.start = dts;
  if (sync) {
    t.sync.push(t.offsets.length);
    t.syncDts.push(dts);
  }
  t.offsets.push(offset);
  t.sizes.push(size);
}

/**
 * Checks every sample of `path` (see the file comment). Never throws for a bad file: `ok` false with
 * the reason; I/O errors are thrown.
 */
export async function checkSamples(path: string, opts: { onGops?(gops: GopTimes): void } = {}): Promise<SampleCheck> {
  const fh = await open(path, 'r');
  try {
    return await checkOpen(fh, opts);
  } finally {
    await fh.close();
  }
}

async function checkOpen(fh: FileHandle, opts: { onGops?(gops: GopTimes): void }): Promise<SampleCheck> {
  const result: SampleCheck = { ok: false, detail: '', videoSamples: 0, syncSamples: 0, nals: 0, bytesRead: 0 };
  try {
    const cls = await classifyOpen(fh);
    if (cls.kind !== 'clean' && cls.kind !== 'fragmented-clean') fail(`the file is ${cls.kind}: ${cls.reason}`);
    const moovBox = cls.boxes.find((b) => b.type === 'moov')!;
    const moov = parseBox(await readBox(fh, moovBox, LIMITS.maxMoovBytes), moovBox.offset);
    const tracks = readTracks(moov);
    if (cls.kind === 'fragmented-clean') {
      const trex = trexDefaults(moov);
      let k = 0;
      for (const b of cls.boxes) {
        if (b.type !== 'moof') continue;
        const moof = parseBox(await readBox(fh, b, LIMITS.maxMoofBytes), b.offset);
        addFragment(moof, b.offset, trex, tracks, `moof #${++k}`);
      }
    }
    checkOverlaps(tracks);
    const video = tracks.find((t) => t.handler === 'vide' && t.lengthSize !== undefined);
    if (!video) {
      result.ok = true;
      result.detail = 'no H.264 video track: sample placement checked only';
      return result;
    }
    // The GOP times come from the tables alone: a caller can start decoding the ends while the walk reads.
    const gops = gopTimes(video);
    opts.onGops?.(gops);
    await walkVideo(fh, video, result);
    result.gops = gops;
    result.ok = true;
    result.detail = `${result.videoSamples} video samples (${result.syncSamples} keyframes, ${result.nals} NAL units) walked to their ends`;
    return result;
  } catch (e) {
    if (isIoError(e)) throw e;
    result.ok = false;
    result.detail = asMp4Error(e, 'sample check').message;
    return result;
  }
}

/** Every trak's samples from its moov tables (empty for a fragmented file's moov). */
function readTracks(moov: BoxNode): Track[] {
  const out: Track[] = [];
  for (const trak of moov.children ?? []) {
    if (trak.type !== 'trak') continue;
    const id = trackIdOf(trak);
    const handler = handlerOf(trak);
    const mdhd = nodeAt(trak, ['mdia', 'mdhd'])?.payload;
    const timescale = mdhd ? mdhd.readUInt32BE(mdhd[0] === 1 ? 20 : 12) : 1;
    const stbl = nodeAt(trak, ['mdia', 'minf', 'stbl']);
    if (!stbl) fail(`track ${id} has no stbl`);
    const stsd = childNode(stbl, 'stsd')?.payload;
    let lengthSize: number | undefined;
    if (stsd && handler === 'vide') {
      const entries = sampleEntries(stsd, `track ${id} stsd`);
      const avc = entries.find((e) => e.type === 'avc1' || e.type === 'avc3');
      if (avc) lengthSize = avcSampleEntry(stsd, avc, `track ${id} ${avc.type}`).avcC.lengthSize;
    }
    const t = newTrack(id, handler, timescale, lengthSize);
    tableSamples(stbl, t);
    out.push(t);
  }
  return out;
}

/** Samples of an stbl (classify already checked that the tables agree and fit). */
function tableSamples(stbl: BoxNode, t: Track): void {
  const p = (type: string) => childNode(stbl, type)?.payload;
  const stsz = p('stsz');
  const stz2 = stsz ? undefined : p('stz2');
  const count = stsz ? stsz.readUInt32BE(8) : stz2 ? stz2.readUInt32BE(8) : 0;
  if (count === 0) return;
  const fixed = stsz ? stsz.readUInt32BE(4) : 0;
  const bits = stz2 ? stz2[7]! : 32;
  const size = (i: number): number => {
    if (stsz) return fixed || stsz.readUInt32BE(12 + i * 4);
    const z = stz2!;
    if (bits === 16) return z.readUInt16BE(12 + i * 2);
    if (bits === 8) return z[12 + i]!;
    const b = z[12 + (i >> 1)]!;
    return i & 1 ? b & 0x0f : b >> 4;
  };
  const stco = p('stco');
  const co64 = stco ? undefined : p('co64');
  const chunkCount = (stco ?? co64)!.readUInt32BE(4);
  const chunk = (c: number) => (stco ? stco.readUInt32BE(8 + c * 4) : Number(co64!.readBigUInt64BE(8 + c * 8)));
  const stsc = p('stsc')!;
  const stscCount = stsc.readUInt32BE(4);
  const stss = p('stss');
  const syncSet = stss ? new Set<number>() : undefined;
  if (stss) for (let i = 0, n = stss.readUInt32BE(4); i < n; i++) syncSet!.add(stss.readUInt32BE(8 + i * 4) - 1);
  const stts = p('stts')!;
  let sttsEntry = 0;
  let sttsLeft = stts.readUInt32BE(4) > 0 ? stts.readUInt32BE(8) : 0;
  let dts = 0;
  let s = 0;
  for (let e = 0; e < stscCount; e++) {
    const first = stsc.readUInt32BE(8 + e * 12) - 1;
    const per = stsc.readUInt32BE(12 + e * 12);
    const next = e + 1 < stscCount ? stsc.readUInt32BE(8 + (e + 1) * 12) - 1 : chunkCount;
    for (let c = first; c < next && s < count; c++) {
      let off = chunk(c);
      for (let k = 0; k < per && s < count; k++, s++) {
        const sz = size(s);
        addSample(t, off, sz, syncSet ? syncSet.has(s) : true, dts);
        off += sz;
        while (sttsLeft === 0 && ++sttsEntry < stts.readUInt32BE(4)) sttsLeft = stts.readUInt32BE(8 + sttsEntry * 8);
        dts += sttsEntry < stts.readUInt32BE(4) ? stts.readUInt32BE(12 + sttsEntry * 8) : 0;
        sttsLeft--;
      }
    }
  }
  t.end = dts;
}

/** Adds the samples of one moof (offsets, sizes, flags and decode times from its truns). */
function addFragment(moof: BoxNode, offset: number, trex: ReturnType<typeof trexDefaults>, tracks: Track[], where: string): void {
  const trafs = (moof.children ?? []).filter((c) => c.type === 'traf');
  const described = describeFragment(moof, offset, trex, where);
  described.forEach((ft, i) => {
    const t = tracks.find((x) => x.id === ft.tfhd.trackId);
    if (!t) fail(`traf in ${where} is for track ${ft.tfhd.trackId}, which the moov does not declare`);
    const tfdt = trafs[i] && childNode(trafs[i]!, 'tfdt')?.payload;
    if (tfdt) t.end = tfdt[0] === 1 ? Number(tfdt.readBigUInt64BE(4)) : tfdt.readUInt32BE(4);
    const defaultDuration = ft.tfhd.defaultSampleDuration ?? trex.get(t.id)?.defaultSampleDuration ?? 0;
    for (const run of ft.runs) {
      for (let k = 0; k < run.count; k++) {
        addSample(t, run.startOf(k), run.sizeOf(k), run.isSync(k), t.end);
        t.end += run.trun.durations ? run.trun.durations[k]! : defaultDuration;
      }
    }
  });
}

/** No two samples (of any tracks) share a byte: each track's samples in offset order, merged. */
function checkOverlaps(tracks: Track[]): void {
  const orders = tracks.map((t) => {
    const off = t.offsets.view();
    let sorted = true;
    for (let i = 1; i < off.length && sorted; i++) if (off[i]! < off[i - 1]!) sorted = false;
    const idx = new Uint32Array(off.length);
    for (let i = 0; i < idx.length; i++) idx[i] = i;
    if (!sorted) idx.sort((a, b) => off[a]! - off[b]!);
    return idx;
  });
  const at = tracks.map(() => 0);
  let prevEnd = -1;
  let prevTrack = 0;
  for (;;) {
    let best = -1;
    let bestStart = Infinity;
    tracks.forEach((t, k) => {
      const i = orders[k]![at[k]!];
      if (i !== undefined && t.offsets.get(i) < bestStart) {
        bestStart = t.offsets.get(i);
        best = k;
      }
    });
    if (best < 0) return;
    const t = tracks[best]!;
    const i = orders[best]![at[best]!++]!;
    const size = t.sizes.get(i);
    if (size === 0) continue;
    if (bestStart < prevEnd) fail(`sample ${i + 1} of track ${t.id} (bytes ${bestStart}-${bestStart + size}) overlaps a sample of track ${prevTrack} that ends at ${prevEnd}`);
    prevEnd = bestStart + size;
    prevTrack = t.id;
  }
}

/**
 * Positioned reads into one buffer: a read at a position past the window loads from there, 16 KB
 * after a jump, doubling up to 1 MB while the reads run on sequentially (small samples).
 */
class SparseReader {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private winStart = 0;
  private winLen = 0;
  private next = 16 * 1024;
  bytesRead = 0;
  reads = 0;

  constructor(private readonly fd: number) {}

  /** Makes [pos, pos+len) available; returns the index of `pos` in `buf`, or -1 at EOF. */
  at(pos: number, len: number): number {
    if (pos >= this.winStart && pos + len <= this.winStart + this.winLen) return pos - this.winStart;
    const sequential = pos >= this.winStart + this.winLen && pos < this.winStart + this.winLen + this.next;
    this.next = sequential ? Math.min(this.buf.length, this.next * 2) : 16 * 1024;
    const want = Math.max(len, this.next);
    const n = readSync(this.fd, this.buf, 0, want, pos);
    this.reads++;
    this.bytesRead += n;
    this.winStart = pos;
    this.winLen = n;
    return n >= len ? 0 : -1;
  }

  get bytes(): Buffer {
    return this.buf;
  }
}

const NAL_IDR = 5;

async function walkVideo(fh: FileHandle, t: Track, r: SampleCheck): Promise<void> {
  const ls = t.lengthSize!;
  const reader = new SparseReader(fh.fd);
  const b = reader.bytes;
  const n = t.offsets.length;
  const syncs = t.sync.view();
  let nextSync = 0;
  let lastYield = performance.now();
  for (let i = 0; i < n; i++) {
    const offset = t.offsets.get(i);
    const size = t.sizes.get(i);
    const end = offset + size;
    const sync = syncs[nextSync] === i;
    if (sync) nextSync++;
    const where = () => `video sample ${i + 1} of ${n} (${size} bytes at offset ${offset})`;
    let pos = offset;
    let slices = 0;
    let idr = 0;
    let iSlice = false;
    while (pos < end) {
      if (pos + ls + 1 > end) fail(`${where()}: ${end - pos} byte(s) left at offset ${pos}, too few for a NAL unit`);
      let k = reader.at(pos, ls + 1);
      if (k < 0) fail(`${where()}: the file ends inside it`);
      let len = 0;
      for (let j = 0; j < ls; j++) len = len * 256 + b[k + j]!;
      if (len === 0) fail(`${where()}: a NAL unit of length 0 at offset ${pos}`);
      if (pos + ls + len > end) fail(`${where()}: the NAL unit at offset ${pos} declares ${len} bytes, past the sample's end by ${pos + ls + len - end}`);
      const h = b[k + ls]!;
      if (h & 0x80) fail(`${where()}: the NAL unit at offset ${pos} has its forbidden bit set (header 0x${h.toString(16)})`);
      const type = h & 0x1f;
      if (type >= 1 && type <= 5) {
        slices++;
        if (type === NAL_IDR) {
          if ((h & 0x60) === 0) fail(`${where()}: IDR slice at offset ${pos} with nal_ref_idc 0`);
          idr++;
        } else if (sync && !iSlice) {
          const head = Math.min(len, 8);
          k = reader.at(pos, ls + head);
          iSlice = isISlice(b, k + ls + 1, k + ls + head);
        }
      }
      r.nals++;
      pos += ls + len;
    }
    if (slices === 0) fail(`${where()} holds no slice (no picture)`);
    if (sync && idr === 0 && !iSlice) fail(`${where()} is flagged as a keyframe but holds no IDR or I slice`);
    if (!sync && idr > 0) fail(`${where()} holds an IDR slice but is not flagged as a keyframe`);
    r.videoSamples++;
    if (sync) r.syncSamples++;
    if ((i & 255) === 255 && performance.now() - lastYield > 10) {
      await new Promise((res) => setImmediate(res)); // the reads are synchronous: let the event loop in
      lastYield = performance.now();
    }
  }
  if (n > 0 && syncs[0] !== 0) fail('the first video sample is not a keyframe: the first frames cannot be decoded');
  r.bytesRead = reader.bytesRead;
}

/** slice_type (after first_mb_in_slice) is I or SI (2, 4, 7, 9). */
function isISlice(b: Buffer, start: number, end: number): boolean {
  const rbsp = unescapeRbsp(b, start, Math.max(start, end), 8);
  let bit = 0;
  const u1 = () => (bit >= rbsp.length * 8 ? -1 : (rbsp[bit >> 3]! >> (7 - (bit++ & 7))) & 1);
  const ue = () => {
    let zeros = 0;
    for (;;) {
      const v = u1();
      if (v < 0 || zeros > 16) return -1;
      if (v === 1) break;
      zeros++;
    }
    let x = 0;
    for (let i = 0; i < zeros; i++) {
      const v = u1();
      if (v < 0) return -1;
      x = x * 2 + v;
    }
    return 2 ** zeros - 1 + x;
  };
  if (ue() < 0) return false;
  const type = ue();
  return type === 2 || type === 4 || type === 7 || type === 9;
}

function gopTimes(t: Track): GopTimes {
  const ts = t.timescale || 1;
  const base = t.start ?? 0;
  const sec = (d: number) => (d - base) / ts;
  const duration = sec(t.end);
  const k = t.syncDts.length;
  return {
    firstGopEnd: k > 1 ? sec(t.syncDts.get(1)) : duration,
    lastGopStart: k ? sec(t.syncDts.get(k - 1)) : 0,
    duration,
    gops: k,
  };
}
