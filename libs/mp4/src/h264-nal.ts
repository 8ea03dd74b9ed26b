// H.264 NAL units: parameter sets, slice headers, access unit boundaries and picture order counts.
import { BitReader, BitstreamEnd, unescapeRbsp } from './bit-reader.js';
import { Mp4FormatError } from './errors.js';

export const NAL_SLICE = 1;
export const NAL_IDR = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;
export const NAL_END_SEQ = 10;
export const NAL_END_STREAM = 11;
export const NAL_FILLER = 12;

export interface Sps {
  id: number;
  profileIdc: number;
  separateColourPlane: boolean;
  log2MaxFrameNum: number;
  pocType: number;
  log2MaxPocLsb: number;
  gapsInFrameNumAllowed: boolean;
  frameMbsOnly: boolean;
  widthMbs: number;
  heightMbs: number;
  /** Macroblocks in a frame (upper bound of first_mb_in_slice + 1). */
  totalMbs: number;
}

export interface Pps {
  id: number;
  spsId: number;
  bottomFieldPicOrderInFramePresent: boolean;
}

export interface SliceHeader {
  firstMb: number;
  sliceType: number;
  ppsId: number;
  frameNum: number;
  fieldPic: boolean;
  bottomField: boolean;
  idrPicId: number;
  pocLsb: number;
  deltaPocBottom: number;
}

/** A parsed NAL unit header plus, for slices, the slice header. */
export interface NalInfo {
  type: number;
  refIdc: number;
  slice?: SliceHeader;
}

export interface ParamSets {
  sps: Map<number, Sps>;
  pps: Map<number, Pps>;
}

export const isSlice = (type: number) => type === NAL_SLICE || type === NAL_IDR;

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Runs a parameter set parser, turning a read past the end of the NAL unit into a clear error. */
function paramSet<T>(what: 'SPS' | 'PPS', b: Uint8Array, start: number, end: number, parse: (rbsp: Uint8Array) => T): T {
  const stop = Math.min(end, b.length);
  if (!(start >= 0 && start < stop)) throw new Mp4FormatError(`${what} NAL unit is empty`);
  const rbsp = unescapeRbsp(b, start + 1, stop, what === 'SPS' ? 256 : 64);
  try {
    return parse(rbsp);
  } catch (e) {
    if (e instanceof BitstreamEnd) throw new Mp4FormatError(`${what} NAL unit (${stop - start} byte${stop - start === 1 ? '' : 's'}) ends inside its fields`);
    if (e instanceof Mp4FormatError) throw new Mp4FormatError(`${what}: ${e.message}`);
    throw e;
  }
}

/** Parses an SPS NAL unit (b[start, end) includes the 1-byte NAL header). */
export function parseSps(b: Uint8Array, start: number, end: number): Sps {
  return paramSet('SPS', b, start, end, spsFields);
}

function spsFields(rbsp: Uint8Array): Sps {
  const r = new BitReader(rbsp);
  const profileIdc = r.u(8);
  r.skip(16); // constraint flags, level_idc
  const id = r.ue();
  if (id > 31) throw new Mp4FormatError(`seq_parameter_set_id ${id} (> 31)`);
  let separateColourPlane = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    const chroma = r.ue();
    if (chroma === 3) separateColourPlane = r.u1() === 1;
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u1(); // qpprime_y_zero_transform_bypass_flag
    if (r.u1()) for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.u1()) skipScalingList(r, i < 6 ? 16 : 64);
  }
  const log2MaxFrameNum = r.ue() + 4;
  const pocType = r.ue();
  let log2MaxPocLsb = 0;
  if (pocType === 0) log2MaxPocLsb = r.ue() + 4;
  else if (pocType === 1) {
    r.u1();
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  } else if (pocType !== 2) throw new Mp4FormatError(`pic_order_cnt_type ${pocType} (> 2)`);
  r.ue(); // max_num_ref_frames
  const gapsInFrameNumAllowed = r.u1() === 1;
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u1() === 1;
  const heightMbs = heightMapUnits * (frameMbsOnly ? 1 : 2);
  if (log2MaxFrameNum > 16 || log2MaxPocLsb > 16) throw new Mp4FormatError(`log2_max_frame_num ${log2MaxFrameNum} or log2_max_pic_order_cnt_lsb ${log2MaxPocLsb} (> 16)`);
  return { id, profileIdc, separateColourPlane, log2MaxFrameNum, pocType, log2MaxPocLsb, gapsInFrameNumAllowed, frameMbsOnly, widthMbs, heightMbs, totalMbs: widthMbs * heightMbs };
}

/** Parses the start of a PPS NAL unit (b[start, end) includes the NAL header). */
export function parsePps(b: Uint8Array, start: number, end: number): Pps {
  return paramSet('PPS', b, start, end, (rbsp) => {
    const r = new BitReader(rbsp);
    const id = r.ue();
    const spsId = r.ue();
    if (id > 255 || spsId > 31) throw new Mp4FormatError(`pic_parameter_set_id ${id} or seq_parameter_set_id ${spsId} out of range`);
    r.u1(); // entropy_coding_mode_flag
    const bottomFieldPicOrderInFramePresent = r.u1() === 1;
    return { id, spsId, bottomFieldPicOrderInFramePresent };
  });
}

/**
 * Parses a slice header up to the picture order count fields (b[start, end) includes the NAL header).
 * Returns undefined when the header is not valid against the known parameter sets.
 */
export function parseSliceHeader(b: Uint8Array, start: number, end: number, ps: ParamSets): SliceHeader | undefined {
  const type = b[start]! & 0x1f;
  try {
    const r = new BitReader(unescapeRbsp(b, start + 1, end, 48));
    const firstMb = r.ue();
    const sliceType = r.ue();
    const ppsId = r.ue();
    if (sliceType > 9 || ppsId > 255) return undefined;
    const pps = ps.pps.get(ppsId);
    const sps = pps && ps.sps.get(pps.spsId);
    if (!pps || !sps) return undefined;
    if (firstMb >= sps.totalMbs) return undefined;
    if (type === NAL_IDR && sliceType % 5 !== 2 && sliceType % 5 !== 4) return undefined; // IDR: I or SI slices only
    if (sps.separateColourPlane) r.skip(2);
    const frameNum = r.u(sps.log2MaxFrameNum);
    let fieldPic = false;
    let bottomField = false;
    if (!sps.frameMbsOnly) {
      fieldPic = r.u1() === 1;
      if (fieldPic) bottomField = r.u1() === 1;
    }
    let idrPicId = -1;
    if (type === NAL_IDR) {
      idrPicId = r.ue();
      if (idrPicId > 65535) return undefined;
    }
    let pocLsb = 0;
    let deltaPocBottom = 0;
    if (sps.pocType === 0) {
      pocLsb = r.u(sps.log2MaxPocLsb);
      if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) deltaPocBottom = r.se();
    }
    return { firstMb, sliceType, ppsId, frameNum, fieldPic, bottomField, idrPicId, pocLsb, deltaPocBottom };
  } catch {
    return undefined;
  }
}

/** NAL header checks: forbidden bit, allowed type, nal_ref_idc rules of the standard. */
export function validNalHeader(byte: number, allowed: ReadonlySet<number>): boolean {
  if (byte & 0x80) return false;
  const type = byte & 0x1f;
  if (!allowed.has(type)) return false;
  const ref = (byte >> 5) & 3;
  if (type === NAL_IDR && ref === 0) return false;
  if ((type === NAL_SPS || type === NAL_PPS) && ref === 0) return false;
  if ((type === NAL_SEI || type === NAL_AUD || type === NAL_END_SEQ || type === NAL_END_STREAM || type === NAL_FILLER) && ref !== 0) return false;
  return true;
}

/** The NAL types accepted by default (1..12 as in the standard's non-reserved, non-extension set). */
export const DEFAULT_NAL_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

/** State of the access unit being assembled. */
export interface AuState {
  /** Number of NAL units so far. */
  nals: number;
  /** Header of the first slice of the picture, once one was seen. */
  firstSlice?: { type: number; refIdc: number; h: SliceHeader };
}

/**
 * Whether `nal` begins a new access unit given the one being assembled (H.264 7.4.1.2.3/7.4.1.2.4,
 * simplified): once the current one has a slice, an AUD, SPS/PPS/SEI (and 13..18), or a slice with
 * first_mb_in_slice == 0 or differing frame_num / pps / field / IDR / POC fields.
 */
export function startsAccessUnit(cur: AuState, nal: NalInfo): boolean {
  if (cur.nals === 0) return false;
  const t = nal.type;
  // Units before the first slice belong to the picture that follows, even across an AUD (x264 puts
  // its SEI before the AUD of the first frame): a sample always holds a picture.
  const first = cur.firstSlice;
  if (!first) return false;
  if (t === NAL_AUD) return true;
  if (t === NAL_SEI || t === NAL_SPS || t === NAL_PPS || (t >= 13 && t <= 18)) return true;
  if (!isSlice(t) && t !== 2) return false;
  const h = nal.slice;
  if (!h) return false;
  const f = first.h;
  return (
    h.firstMb === 0 ||
    h.frameNum !== f.frameNum ||
    h.ppsId !== f.ppsId ||
    h.fieldPic !== f.fieldPic ||
    h.bottomField !== f.bottomField ||
    (nal.refIdc === 0) !== (first.refIdc === 0) ||
    (t === NAL_IDR) !== (first.type === NAL_IDR) ||
    (t === NAL_IDR && h.idrPicId !== f.idrPicId) ||
    h.pocLsb !== f.pocLsb ||
    h.deltaPocBottom !== f.deltaPocBottom
  );
}

/** Picture order count (type 0) across pictures in decode order. */
export class PocTracker {
  private prevMsb = 0;
  private prevLsb = 0;

  /** POC of a picture from its first slice; other POC types return the decode index instead. */
  next(sps: Sps | undefined, isIdr: boolean, refIdc: number, h: SliceHeader, decodeIndex: number): number {
    if (!sps || sps.pocType !== 0) return decodeIndex * 2;
    if (isIdr) {
      this.prevMsb = 0;
      this.prevLsb = 0;
    }
    const max = 1 << sps.log2MaxPocLsb;
    let msb = this.prevMsb;
    if (h.pocLsb < this.prevLsb && this.prevLsb - h.pocLsb >= max / 2) msb += max;
    else if (h.pocLsb > this.prevLsb && h.pocLsb - this.prevLsb > max / 2) msb -= max;
    if (refIdc !== 0) {
      this.prevMsb = msb;
      this.prevLsb = h.pocLsb;
    }
    const top = msb + h.pocLsb;
    return Math.min(top, top + h.deltaPocBottom);
  }
}

/** An access unit found in a run of length-prefixed NAL units. */
export interface AccessUnit {
  offset: number;
  size: number;
  keyframe: boolean;
  nalTypes: number[];
}

/**
 * Groups a buffer of length-prefixed NAL units (as stored in MP4 samples) into access units.
 * Parameter sets found in the data are learned on the way. Stops at the first malformed unit.
 */
export function groupAccessUnits(data: Uint8Array, lengthSize: number, ps: ParamSets = { sps: new Map(), pps: new Map() }): AccessUnit[] {
  const out: AccessUnit[] = [];
  let cur: AuState = { nals: 0 };
  let au: AccessUnit | undefined;
  let p = 0;
  while (p + lengthSize < data.length) {
    let len = 0;
    for (let i = 0; i < lengthSize; i++) len = len * 256 + data[p + i]!;
    const s = p + lengthSize;
    if (len === 0 || s + len > data.length || !validNalHeader(data[s]!, DEFAULT_NAL_TYPES)) break;
    const nal = describeNal(data, s, s + len, ps);
    if (!nal) break;
    if (au && startsAccessUnit(cur, nal)) {
      out.push(au);
      au = undefined;
      cur = { nals: 0 };
    }
    au ??= { offset: p, size: 0, keyframe: false, nalTypes: [] };
    au.size = s + len - au.offset;
    au.nalTypes.push(nal.type);
    if (nal.type === NAL_IDR) au.keyframe = true;
    cur.nals++;
    if (nal.slice && !cur.firstSlice) cur.firstSlice = { type: nal.type, refIdc: nal.refIdc, h: nal.slice };
    p = s + len;
  }
  if (au) out.push(au);
  return out;
}

/** Header info of the NAL unit b[start, end) (learning SPS/PPS into `ps`); undefined if a slice header is invalid. */
export function describeNal(b: Uint8Array, start: number, end: number, ps: ParamSets): NalInfo | undefined {
  const type = b[start]! & 0x1f;
  const refIdc = (b[start]! >> 5) & 3;
  if (type === NAL_SPS) {
    try {
      const sps = parseSps(b, start, end);
      ps.sps.set(sps.id, sps);
    } catch {
      return undefined;
    }
  } else if (type === NAL_PPS) {
    try {
      const pps = parsePps(b, start, end);
      ps.pps.set(pps.id, pps);
    } catch {
      return undefined;
    }
  } else if (isSlice(type)) {
    const slice = parseSliceHeader(b, start, end, ps);
    if (!slice) return undefined;
    return { type, refIdc, slice };
  } else if (type === NAL_AUD && end - start !== 2) return undefined; // header + primary_pic_type/trailing bits
  return { type, refIdc };
}
