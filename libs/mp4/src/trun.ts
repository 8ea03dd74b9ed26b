// Track fragment boxes: tfhd, trun (parse and write back) and trex defaults.
import { ByteWriter } from './box-writer.js';
import { LIMITS, Mp4FormatError } from './errors.js';

export const TFHD_BASE_DATA_OFFSET = 0x000001;
export const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
export const TFHD_DEFAULT_DURATION = 0x000008;
export const TFHD_DEFAULT_SIZE = 0x000010;
export const TFHD_DEFAULT_FLAGS = 0x000020;
export const TFHD_DURATION_IS_EMPTY = 0x010000;
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

export const TRUN_DATA_OFFSET = 0x000001;
export const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
export const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
export const TRUN_SAMPLE_FLAGS = 0x000400;
export const TRUN_SAMPLE_CTO = 0x000800;

export interface Tfhd {
  flags: number;
  trackId: number;
  baseDataOffset?: number;
  sampleDescriptionIndex?: number;
  defaultSampleDuration?: number;
  defaultSampleSize?: number;
  defaultSampleFlags?: number;
}

/** Parses a tfhd payload (starting at version/flags); throws an Mp4FormatError naming a missing field. */
export function parseTfhd(p: Buffer, where = 'tfhd'): Tfhd {
  return parseTfhdAt(p, 0, p.length, where);
}

/** parseTfhd of the payload at b[start, end). */
export function parseTfhdAt(b: Buffer, start: number, end: number, where = 'tfhd'): Tfhd {
  const n = end - start;
  if (n < 8) throw new Mp4FormatError(`${where} is ${n} bytes, too short for its flags and track ID`);
  const flags = b.readUInt32BE(start) & 0xffffff;
  const t: Tfhd = { flags, trackId: b.readUInt32BE(start + 4) };
  let o = start + 8;
  if (flags & TFHD_BASE_DATA_OFFSET) {
    if (o + 8 > end) throw tfhdCut(where, flags, n, 'base data offset');
    const base = b.readBigUInt64BE(o);
    if (base > BigInt(Number.MAX_SAFE_INTEGER)) throw new Mp4FormatError(`${where} base data offset ${base} is past any file`);
    t.baseDataOffset = Number(base);
    o += 8;
  }
  // The optional 32-bit fields, in order (no closures: this runs for every traf classify checks).
  for (let f = 0; f < TFHD_FIELDS.length; f++) {
    const [flag, name] = TFHD_FIELDS[f]!;
    if (!(flags & flag)) continue;
    if (o + 4 > end) throw tfhdCut(where, flags, n, name);
    const v = b.readUInt32BE(o);
    o += 4;
    if (flag === TFHD_SAMPLE_DESCRIPTION_INDEX) t.sampleDescriptionIndex = v;
    else if (flag === TFHD_DEFAULT_DURATION) t.defaultSampleDuration = v;
    else if (flag === TFHD_DEFAULT_SIZE) t.defaultSampleSize = v;
    else t.defaultSampleFlags = v;
  }
  return t;
}

const TFHD_FIELDS: ReadonlyArray<readonly [number, string]> = [
  [TFHD_SAMPLE_DESCRIPTION_INDEX, 'sample description index'],
  [TFHD_DEFAULT_DURATION, 'default sample duration'],
  [TFHD_DEFAULT_SIZE, 'default sample size'],
  [TFHD_DEFAULT_FLAGS, 'default sample flags'],
];

function tfhdCut(where: string, flags: number, bytes: number, field: string): Mp4FormatError {
  return new Mp4FormatError(`${where} flags 0x${flags.toString(16)} announce a ${field} but its ${bytes} bytes end first`);
}

export function serializeTfhd(t: Tfhd): Buffer {
  let flags = t.flags & ~(TFHD_BASE_DATA_OFFSET | TFHD_SAMPLE_DESCRIPTION_INDEX | TFHD_DEFAULT_DURATION | TFHD_DEFAULT_SIZE | TFHD_DEFAULT_FLAGS);
  if (t.baseDataOffset !== undefined) flags |= TFHD_BASE_DATA_OFFSET;
  if (t.sampleDescriptionIndex !== undefined) flags |= TFHD_SAMPLE_DESCRIPTION_INDEX;
  if (t.defaultSampleDuration !== undefined) flags |= TFHD_DEFAULT_DURATION;
  if (t.defaultSampleSize !== undefined) flags |= TFHD_DEFAULT_SIZE;
  if (t.defaultSampleFlags !== undefined) flags |= TFHD_DEFAULT_FLAGS;
  const w = new ByteWriter(40).u8(0).u24(flags).u32(t.trackId);
  if (t.baseDataOffset !== undefined) w.u64(t.baseDataOffset);
  if (t.sampleDescriptionIndex !== undefined) w.u32(t.sampleDescriptionIndex);
  if (t.defaultSampleDuration !== undefined) w.u32(t.defaultSampleDuration);
  if (t.defaultSampleSize !== undefined) w.u32(t.defaultSampleSize);
  if (t.defaultSampleFlags !== undefined) w.u32(t.defaultSampleFlags);
  return w.toBuffer();
}

export interface TrunSample {
  duration?: number;
  size?: number;
  flags?: number;
  compositionTimeOffset?: number;
}

export interface Trun {
  version: number;
  flags: number;
  dataOffset?: number;
  firstSampleFlags?: number;
  samples: TrunSample[];
}

/**
 * A trun as typed arrays: one array per per-sample field its flags carry (none for a run whose
 * samples all take the tfhd/trex defaults, whatever its sample count).
 */
export interface TrunTable {
  version: number;
  flags: number;
  count: number;
  dataOffset?: number;
  firstSampleFlags?: number;
  durations?: Uint32Array;
  sizes?: Uint32Array;
  sampleFlags?: Uint32Array;
  /** Composition time offsets as stored (unsigned in version 0, two's complement in version 1). */
  compositionOffsets?: Uint32Array;
}

/** Bytes each sample takes in a trun with these flags. */
export function trunBytesPerSample(flags: number): number {
  return ((flags & TRUN_SAMPLE_DURATION ? 4 : 0) + (flags & TRUN_SAMPLE_SIZE ? 4 : 0) + (flags & TRUN_SAMPLE_FLAGS ? 4 : 0) + (flags & TRUN_SAMPLE_CTO ? 4 : 0));
}

/** Where the fields of a trun are, its sample count checked against its bytes (trunLayout). */
export interface TrunLayout {
  version: number;
  flags: number;
  count: number;
  dataOffset?: number;
  firstSampleFlags?: number;
  /** Offset of the first sample's fields. */
  samples: number;
  /** Bytes per sample. */
  per: number;
}

/**
 * The layout of the trun payload at b[start, end) (starting at version/flags): its sample count is
 * checked against the bytes before anything is allocated, every announced optional field must be
 * there; `where` names the box in messages (e.g. "trun in moof #3").
 */
export function trunLayout(b: Uint8Array, dv: DataView, start: number, end: number, whereOf: string | (() => string)): TrunLayout {
  const n = end - start;
  if (n < 8) throw new Mp4FormatError(`${label(whereOf)} is ${n} bytes, too short for its flags and sample count`);
  const version = b[start]!;
  const flags = dv.getUint32(start) & 0xffffff;
  const count = dv.getUint32(start + 4);
  let o = start + 8;
  const head = 8 + (flags & TRUN_DATA_OFFSET ? 4 : 0) + (flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0);
  if (head > n) throw new Mp4FormatError(`${label(whereOf)} flags 0x${flags.toString(16)} announce ${head - 8} bytes of data offset/first-sample flags but its payload has ${n - 8}`);
  const per = trunBytesPerSample(flags);
  if (per > 0 && count > (n - head) / per) throw new Mp4FormatError(`${label(whereOf)} declares ${count} samples but its payload holds at most ${Math.floor((n - head) / per)}`);
  const t: TrunLayout = { version, flags, count, samples: start + head, per };
  if (flags & TRUN_DATA_OFFSET) {
    t.dataOffset = dv.getInt32(o);
    o += 4;
  }
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) t.firstSampleFlags = dv.getUint32(o);
  return t;
}

const label = (whereOf: string | (() => string)) => (typeof whereOf === 'string' ? whereOf : whereOf());

/** Reads a trun payload (starting at version/flags) into typed arrays, bounded like trunLayout. */
export function readTrun(p: Buffer, where = 'trun'): TrunTable {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const { version, flags, count, dataOffset, firstSampleFlags, samples, per } = trunLayout(p, dv, 0, p.length, where);
  const t: TrunTable = { version, flags, count };
  if (dataOffset !== undefined) t.dataOffset = dataOffset;
  if (firstSampleFlags !== undefined) t.firstSampleFlags = firstSampleFlags;
  if (per === 0) return t;
  const field = (f: number) => (flags & f ? new Uint32Array(count) : undefined);
  const durations = field(TRUN_SAMPLE_DURATION);
  const sizes = field(TRUN_SAMPLE_SIZE);
  const sampleFlags = field(TRUN_SAMPLE_FLAGS);
  const ctos = field(TRUN_SAMPLE_CTO);
  let o = samples;
  for (let i = 0; i < count; i++) {
    if (durations) (durations[i] = dv.getUint32(o)), (o += 4);
    if (sizes) (sizes[i] = dv.getUint32(o)), (o += 4);
    if (sampleFlags) (sampleFlags[i] = dv.getUint32(o)), (o += 4);
    if (ctos) (ctos[i] = dv.getUint32(o)), (o += 4);
  }
  if (durations) t.durations = durations;
  if (sizes) t.sizes = sizes;
  if (sampleFlags) t.sampleFlags = sampleFlags;
  if (ctos) t.compositionOffsets = ctos;
  return t;
}

/** The first `n` samples of a run (views of its arrays). */
export function truncateTrun(t: TrunTable, n: number): TrunTable {
  const out: TrunTable = { ...t, count: Math.min(n, t.count) };
  if (t.durations) out.durations = t.durations.subarray(0, out.count);
  if (t.sizes) out.sizes = t.sizes.subarray(0, out.count);
  if (t.sampleFlags) out.sampleFlags = t.sampleFlags.subarray(0, out.count);
  if (t.compositionOffsets) out.compositionOffsets = t.compositionOffsets.subarray(0, out.count);
  return out;
}

/** Writes a trun payload from its table form; the flags decide which fields are written. */
export function writeTrun(t: TrunTable): Buffer {
  const f = t.flags;
  const w = new ByteWriter(16 + t.count * trunBytesPerSample(f)).u8(t.version).u24(f).u32(t.count);
  if (f & TRUN_DATA_OFFSET) w.i32(t.dataOffset ?? 0);
  if (f & TRUN_FIRST_SAMPLE_FLAGS) w.u32(t.firstSampleFlags ?? 0);
  const column = (a: Uint32Array | undefined, flag: number, name: string) => {
    if (!(f & flag)) return undefined;
    if (!a || a.length < t.count) throw new Error(`trun table lacks the ${name} its flags announce`);
    return a;
  };
  const d = column(t.durations, TRUN_SAMPLE_DURATION, 'durations');
  const s = column(t.sizes, TRUN_SAMPLE_SIZE, 'sizes');
  const fl = column(t.sampleFlags, TRUN_SAMPLE_FLAGS, 'sample flags');
  const c = column(t.compositionOffsets, TRUN_SAMPLE_CTO, 'composition time offsets');
  for (let i = 0; i < t.count; i++) {
    if (d) w.u32(d[i]!);
    if (s) w.u32(s[i]!);
    if (fl) w.u32(fl[i]!);
    if (c) w.u32(c[i]!);
  }
  return w.toBuffer();
}

/**
 * Parses a trun payload (starting at version/flags) into one object per sample. Bounded like
 * readTrun; a run without per-sample fields is expanded only up to LIMITS.maxExpandedSamples samples
 * (use readTrun for the table form, which has no such limit).
 */
export function parseTrun(p: Buffer, where = 'trun'): Trun {
  const t = readTrun(p, where);
  if (trunBytesPerSample(t.flags) === 0 && t.count > LIMITS.maxExpandedSamples) {
    throw new Mp4FormatError(`${where} declares ${t.count} samples without per-sample fields, more than the ${LIMITS.maxExpandedSamples} parseTrun expands`);
  }
  const out: Trun = { version: t.version, flags: t.flags, samples: [] };
  if (t.dataOffset !== undefined) out.dataOffset = t.dataOffset;
  if (t.firstSampleFlags !== undefined) out.firstSampleFlags = t.firstSampleFlags;
  for (let i = 0; i < t.count; i++) {
    const s: TrunSample = {};
    if (t.durations) s.duration = t.durations[i]!;
    if (t.sizes) s.size = t.sizes[i]!;
    if (t.sampleFlags) s.flags = t.sampleFlags[i]!;
    if (t.compositionOffsets) s.compositionTimeOffset = t.version === 0 ? t.compositionOffsets[i]! : t.compositionOffsets[i]! | 0;
    out.samples.push(s);
  }
  return out;
}

/** Writes a trun payload; the flags decide which fields are written (each sample must have them). */
export function serializeTrun(t: Trun): Buffer {
  const f = t.flags;
  const w = new ByteWriter(12 + t.samples.length * 16).u8(t.version).u24(f).u32(t.samples.length);
  if (f & TRUN_DATA_OFFSET) w.i32(t.dataOffset ?? 0);
  if (f & TRUN_FIRST_SAMPLE_FLAGS) w.u32(t.firstSampleFlags ?? 0);
  for (const s of t.samples) {
    const field = (v: number | undefined, name: string) => {
      if (v === undefined) throw new Error(`trun sample lacks ${name} required by its flags`);
      return v;
    };
    if (f & TRUN_SAMPLE_DURATION) w.u32(field(s.duration, 'duration'));
    if (f & TRUN_SAMPLE_SIZE) w.u32(field(s.size, 'size'));
    if (f & TRUN_SAMPLE_FLAGS) w.u32(field(s.flags, 'flags'));
    if (f & TRUN_SAMPLE_CTO) {
      const v = field(s.compositionTimeOffset, 'composition time offset');
      if (t.version === 0) w.u32(v);
      else w.i32(v);
    }
  }
  return w.toBuffer();
}

export interface TrexDefaults {
  trackId: number;
  defaultSampleDescriptionIndex: number;
  defaultSampleDuration: number;
  defaultSampleSize: number;
  defaultSampleFlags: number;
}

export function parseTrex(p: Buffer): TrexDefaults {
  if (p.length < 24) throw new Mp4FormatError(`trex is ${p.length} bytes, too short for its 24 bytes of defaults`);
  return {
    trackId: p.readUInt32BE(4),
    defaultSampleDescriptionIndex: p.readUInt32BE(8),
    defaultSampleDuration: p.readUInt32BE(12),
    defaultSampleSize: p.readUInt32BE(16),
    defaultSampleFlags: p.readUInt32BE(20),
  };
}

/** Size in bytes of sample i of a run, from the run, then tfhd, then trex defaults. */
export function sampleSize(trun: Trun, i: number, tfhd: Tfhd, trex?: TrexDefaults): number {
  const s = trun.samples[i]?.size ?? tfhd.defaultSampleSize ?? trex?.defaultSampleSize;
  if (s === undefined) throw new Mp4FormatError(`no size for sample ${i} of track ${tfhd.trackId} (no per-sample, tfhd or trex size)`);
  return s;
}
