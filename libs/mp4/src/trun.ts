// Track fragment boxes: tfhd, trun (parse and write back) and trex defaults.
import { ByteWriter } from './box-writer.js';

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

/** Parses a tfhd payload (starting at version/flags). */
export function parseTfhd(p: Buffer): Tfhd {
  const flags = p.readUInt32BE(0) & 0xffffff;
  let o = 4;
  const need = (n: number) => {
    if (o + n > p.length) throw new Error(`tfhd too short for its flags 0x${flags.toString(16)}`);
  };
  need(4);
  const t: Tfhd = { flags, trackId: p.readUInt32BE(o) };
  o += 4;
  if (flags & TFHD_BASE_DATA_OFFSET) {
    need(8);
    t.baseDataOffset = Number(p.readBigUInt64BE(o));
    o += 8;
  }
  const u32 = () => {
    need(4);
    const v = p.readUInt32BE(o);
    o += 4;
    return v;
  };
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) t.sampleDescriptionIndex = u32();
  if (flags & TFHD_DEFAULT_DURATION) t.defaultSampleDuration = u32();
  if (flags & TFHD_DEFAULT_SIZE) t.defaultSampleSize = u32();
  if (flags & TFHD_DEFAULT_FLAGS) t.defaultSampleFlags = u32();
  return t;
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

/** Parses a trun payload (starting at version/flags). */
export function parseTrun(p: Buffer): Trun {
  const version = p[0]!;
  const flags = p.readUInt32BE(0) & 0xffffff;
  if (p.length < 8) throw new Error('trun too short');
  const count = p.readUInt32BE(4);
  let o = 8;
  const t: Trun = { version, flags, samples: [] };
  if (flags & TRUN_DATA_OFFSET) {
    t.dataOffset = p.readInt32BE(o);
    o += 4;
  }
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) {
    t.firstSampleFlags = p.readUInt32BE(o);
    o += 4;
  }
  const per = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTO].filter((f) => flags & f).length * 4;
  if (o + count * per > p.length) throw new Error(`trun declares ${count} samples but holds ${per ? Math.floor((p.length - o) / per) : 0}`);
  if (per === 0 && count > 10_000_000) throw new Error(`trun declares an implausible ${count} samples`);
  for (let i = 0; i < count; i++) {
    const s: TrunSample = {};
    if (flags & TRUN_SAMPLE_DURATION) (s.duration = p.readUInt32BE(o)), (o += 4);
    if (flags & TRUN_SAMPLE_SIZE) (s.size = p.readUInt32BE(o)), (o += 4);
    if (flags & TRUN_SAMPLE_FLAGS) (s.flags = p.readUInt32BE(o)), (o += 4);
    if (flags & TRUN_SAMPLE_CTO) (s.compositionTimeOffset = version === 0 ? p.readUInt32BE(o) : p.readInt32BE(o)), (o += 4);
    t.samples.push(s);
  }
  return t;
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
  if (p.length < 24) throw new Error('trex too short');
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
  if (s === undefined) throw new Error(`no size for sample ${i} of track ${tfhd.trackId} (no per-sample, tfhd or trex size)`);
  return s;
}
