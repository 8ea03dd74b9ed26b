// Walks raw mdat bytes of an H.264 (+ audio) MP4 without a moov: finds video access units
// (length-prefixed NAL units), the audio chunks interleaved between them, and where the data ends.
import type { FileHandle } from 'node:fs/promises';
import { unescapeRbsp } from './bit-reader.js';
import { readSync } from 'node:fs';
import { BLOCK_SIZE as BLOCK, BlockReader } from './file-io.js';
import { GrowableF64, GrowableI32, GrowableU32 } from './growable.js';
import {
  isSlice,
  NAL_AUD,
  NAL_END_SEQ,
  NAL_END_STREAM,
  NAL_IDR,
  NAL_PPS,
  NAL_SEI,
  NAL_SPS,
  parsePps,
  parseSliceHeader,
  parseSps,
  PocTracker,
  startsAccessUnit,
  validNalHeader,
  type AuState,
  type NalInfo,
  type ParamSets,
  type Pps,
  type Sps,
} from './h264-nal.js';

export interface VideoScanParams {
  /** NAL length prefix size from avcC (1, 2 or 4). */
  lengthSize: number;
  /** Parameter sets from the reference's avcC; in-band SPS/PPS found in the data are added. */
  ps: ParamSets;
  allowedTypes: ReadonlySet<number>;
  /** Sanity bound on one NAL unit's size. */
  maxNalSize: number;
}

/** Delimits audio frames (e.g. raw AAC) in the gaps between video samples. */
export interface AudioFrameParser {
  /** Size of the frame at b[start, end), or -1 if no complete valid frame is there. */
  frameLength(b: Uint8Array, start: number, end: number): number;
  /** Upper bound of one frame's size. */
  readonly maxFrameBytes: number;
}

export interface ScanResult {
  video: { offsets: Float64Array; sizes: Uint32Array; pocs: Int32Array; /** 0-based indexes of IDR samples */ sync: Uint32Array };
  /** Audio frames, only when every gap between video samples was split into audio frames exactly. */
  audio?: { offsets: Float64Array; sizes: Uint32Array };
  /** Gaps (non-video byte runs) found between video samples, and their total size. */
  gaps: number;
  gapBytes: number;
  /** Gaps that could not be split into audio frames (why audio was dropped). */
  unsplitGaps: number;
  /** Offset where the usable data ends (everything after it is dropped) and why. */
  endOffset: number;
  stopReason: string;
  /** Video samples that ended up dropped at the tail (incomplete). */
  droppedTailSamples: number;
  /** The first in-band SPS and PPS NAL units met in the data (to compare with the reference's avcC). */
  inbandSps?: Buffer;
  inbandPps?: Buffer;
}

const NEED = 8192; // bytes to have in the window before checking a NAL unit (covers SEI/SPS/PPS bodies)
/** Granularity of the main window's lazy loads: a large slice's payload between two such pieces is never read. */
const PIECE = 4096;
/** A load that starts less than this past the previous one's end is a sequential run: its reads grow (to READ_MAX). */
const SKIP_MIN = 16 * 1024;
const READ_MAX = 1024 * 1024;
const QUICK_TYPES = new Set([1, 5, 6, 7, 8, 9]); // NAL types that may begin an access unit after a gap

interface CheckedNal {
  info: NalInfo;
  /** Prefix + NAL bytes. */
  total: number;
  sps?: Sps;
  pps?: Pps;
}

interface OpenAu {
  offset: number;
  end: number;
  state: AuState;
  idr: boolean;
  poc: number;
}

export async function scanMdat(
  fh: FileHandle,
  start: number,
  end: number,
  video: VideoScanParams,
  audioParser: AudioFrameParser | undefined,
  opts: { dataEndIsClean: boolean; onProgress?(done: number, total: number): void },
): Promise<ScanResult> {
  const ls = video.lengthSize;
  const main = new LazyBlockReader(fh.fd, end, (await fh.stat()).size);
  const ahead = new BlockReader(fh, end, 64 * 1024); // small look-ahead reads (next NAL header, an audio frame)
  const vOffsets = new GrowableF64();
  const vSizes = new GrowableU32();
  const vPocs = new GrowableI32();
  const vSync = new GrowableU32();
  const aOffsets = new GrowableF64();
  const aSizes = new GrowableU32();
  const poc = new PocTracker();
  let au: OpenAu | undefined;
  let prevRefFrameNum: number | undefined;
  let gaps = 0;
  let gapBytes = 0;
  let unsplitGaps = 0;
  let lastProgressLoads = -1;
  let droppedTailSamples = 0;

  /** Validates the NAL unit at absolute offset p, with b[p - bStart] its first prefix byte. */
  const check = (b: Buffer, bStart: number, p: number): CheckedNal | undefined => {
    const i = p - bStart;
    if (p + ls + 1 > end || i + ls + 1 > b.length) return undefined;
    let len = 0;
    for (let k = 0; k < ls; k++) len = len * 256 + b[i + k]!;
    if (len < 1 || len > video.maxNalSize || p + ls + len > end) return undefined;
    const h = b[i + ls]!;
    if (!validNalHeader(h, video.allowedTypes)) return undefined;
    const type = h & 0x1f;
    const refIdc = (h >> 5) & 3;
    const s = i + ls;
    const avail = Math.min(len, b.length - s);
    const total = ls + len;
    if (isSlice(type)) {
      const slice = parseSliceHeader(b, s, s + Math.min(avail, 64), video.ps);
      return slice ? { info: { type, refIdc, slice }, total } : undefined;
    }
    switch (type) {
      case NAL_SPS:
        try {
          const sps = parseSps(b, s, s + avail);
          return { info: { type, refIdc }, total, sps };
        } catch {
          return undefined;
        }
      case NAL_PPS:
        try {
          const pps = parsePps(b, s, s + avail);
          return video.ps.sps.has(pps.spsId) ? { info: { type, refIdc }, total, pps } : undefined;
        } catch {
          return undefined;
        }
      case NAL_SEI:
        return avail < len || validSei(b, s, s + len) ? { info: { type, refIdc }, total } : undefined;
      case NAL_AUD:
        return len === 2 ? { info: { type, refIdc }, total } : undefined;
      case NAL_END_SEQ:
      case NAL_END_STREAM:
        return len === 1 ? { info: { type, refIdc }, total } : undefined;
      default:
        return { info: { type, refIdc }, total };
    }
  };

  /** Loads the bytes of main's window that check (and addNal) may read for the NAL unit at p. */
  const loadForCheck = (p: number): void => {
    main.load(p, p + ls + 1);
    const w = main.current;
    const i = p - w.start;
    if (p + ls + 1 > end || i + ls + 1 > w.buf.length) return;
    let len = 0;
    for (let k = 0; k < ls; k++) len = len * 256 + w.buf[i + k]!;
    const h = w.buf[i + ls]!;
    if (len < 1 || len > video.maxNalSize || p + ls + len > end || !validNalHeader(h, video.allowedTypes)) return; // check reads no more
    const type = h & 0x1f;
    // Slice headers are parsed from at most 64 bytes, SPS/PPS from at most 1024 (unescaped to ≤ 256),
    // an SEI whole when it lies in the window (validSei).
    const body = type === NAL_SEI ? len : type === NAL_SPS || type === NAL_PPS ? Math.min(len, 1024) : Math.min(len, 64);
    main.load(p + ls, p + ls + body);
  };

  /** main's window if it holds [p, p+need) (with what check reads at p loaded), else undefined. */
  const mainWindowForCheck = (p: number, need: number): { buf: Buffer; start: number } | undefined => {
    if (!main.holds(p, need)) return undefined;
    loadForCheck(p);
    return main.current;
  };

  const canStartAu = (n: CheckedNal) => (n.info.slice ? n.info.slice.firstMb === 0 : n.info.type === NAL_AUD || n.info.type === NAL_SEI || n.info.type === NAL_SPS || n.info.type === NAL_PPS);

  /** true/false when frame_num can be checked against the previous reference picture, undefined otherwise. */
  const frameNumFits = (n: CheckedNal): boolean | undefined => {
    const h = n.info.slice;
    if (!h) return undefined;
    if (n.info.type === NAL_IDR) return h.frameNum === 0;
    const sps = spsOf(video.ps, h.ppsId);
    if (!sps || sps.gapsInFrameNumAllowed || prevRefFrameNum === undefined) return undefined;
    return h.frameNum === (prevRefFrameNum + 1) % (1 << sps.log2MaxFrameNum) || (h.fieldPic && h.frameNum === prevRefFrameNum);
  };

  const audioAt = async (p: number): Promise<number> => {
    if (!audioParser || p >= end) return -1;
    let w: { buf: Buffer; start: number };
    if (main.holds(p, audioParser.maxFrameBytes)) {
      main.load(p, p + audioParser.maxFrameBytes);
      w = main.current;
    } else w = await ahead.cover(p, audioParser.maxFrameBytes);
    return audioParser.frameLength(w.buf, p - w.start, Math.min(w.buf.length, end - w.start));
  };

  /**
   * Independent evidence that a NAL unit starting an access unit at p is real video: its frame_num
   * follows the previous reference picture, or valid video or audio follows it. (A frame_num that does
   * not fit is no proof against it: frames can be missing from a recording.)
   */
  const evidence = async (p: number, n: CheckedNal): Promise<boolean> => {
    if (frameNumFits(n) === true) return true;
    const q = p + n.total;
    if (q === end) return true;
    const w = mainWindowForCheck(q, NEED) ?? (await ahead.cover(q, NEED));
    if (check(w.buf, w.start, q)) return true;
    return (await audioAt(q)) > 0;
  };

  const resumesAt = async (p: number): Promise<CheckedNal | undefined> => {
    const w = mainWindowForCheck(p, NEED) ?? (await ahead.cover(p, NEED));
    const n = check(w.buf, w.start, p);
    if (!n || !canStartAu(n)) return undefined;
    return (await evidence(p, n)) ? n : undefined;
  };

  const finishAu = () => {
    if (!au) return;
    if (au.state.firstSlice) {
      if (au.idr) vSync.push(vOffsets.length);
      vOffsets.push(au.offset);
      vSizes.push(au.end - au.offset);
      vPocs.push(au.poc);
    }
    au = undefined;
  };

  let inbandSps: Buffer | undefined;
  let inbandPps: Buffer | undefined;
  const addNal = (p: number, n: CheckedNal, b: Buffer, bStart: number) => {
    if (n.sps) {
      video.ps.sps.set(n.sps.id, n.sps);
      inbandSps ??= Buffer.from(b.subarray(p + ls - bStart, p + n.total - bStart));
    }
    if (n.pps) {
      video.ps.pps.set(n.pps.id, n.pps);
      inbandPps ??= Buffer.from(b.subarray(p + ls - bStart, p + n.total - bStart));
    }
    au ??= { offset: p, end: p, state: { nals: 0 }, idr: false, poc: 0 };
    au.end = p + n.total;
    au.state.nals++;
    const h = n.info.slice;
    if (h && !au.state.firstSlice) {
      au.state.firstSlice = { type: n.info.type, refIdc: n.info.refIdc, h };
      au.idr = n.info.type === NAL_IDR;
      au.poc = poc.next(spsOf(video.ps, h.ppsId), au.idr, n.info.refIdc, h, vOffsets.length);
      if (n.info.refIdc !== 0) prevRefFrameNum = h.frameNum;
    }
  };

  /** Resolves a run of non-video bytes at p: audio frames up to where video resumes, or the end of usable data. */
  const resolveGap = async (p: number): Promise<{ resumeAt?: number; frames: number[]; split: boolean }> => {
    const frames: number[] = [];
    let q = p;
    if (audioParser) {
      while (q < end) {
        if (frames.length && (await resumesAt(q))) return { resumeAt: q, frames, split: true };
        const len = await audioAt(q);
        if (len <= 0) break;
        frames.push(q, len);
        q += len;
      }
      if (q >= end) return { frames, split: true };
    }
    // Byte-by-byte search for the next access unit start (cheap pre-filter on the window first).
    for (let r = p + 1; r < end; ) {
      const w = await main.cover(r, NEED);
      const stop = Math.min(end, w.start + w.buf.length - ls - 1);
      if (stop <= r) break;
      const b = w.buf;
      let loadedTo = r; // b holds the bytes before loadedTo (from r on)
      for (; r < stop; r++) {
        if (r + ls + 1 > loadedTo) {
          loadedTo = Math.min(stop + ls + 1, r + PIECE);
          main.load(r, loadedTo);
        }
        const i = r - w.start;
        let len = 0;
        for (let k = 0; k < ls; k++) len = len * 256 + b[i + k]!;
        if (len < 2 || len > video.maxNalSize || r + ls + len > end) continue;
        const h = b[i + ls]!;
        if (!QUICK_TYPES.has(h & 0x1f) || !validNalHeader(h, video.allowedTypes)) continue;
        if (await resumesAt(r)) return { resumeAt: r, frames, split: false };
      }
    }
    return { frames, split: q >= end };
  };

  let pos = start;
  let stopReason = 'reached the end of the media data';
  while (pos < end) {
    const w = await main.cover(pos, NEED);
    loadForCheck(pos);
    if (opts.onProgress && main.loads !== lastProgressLoads) {
      lastProgressLoads = main.loads;
      opts.onProgress(pos - start, end - start);
    }
    const n = check(w.buf, w.start, pos);
    if (n) {
      const newAu = au === undefined || startsAccessUnit(au.state, n.info);
      if (!newAu || (canStartAu(n) && (await evidence(pos, n)))) {
        if (newAu) finishAu();
        if ((n.sps && !inbandSps) || (n.pps && !inbandPps)) main.load(pos, pos + n.total); // addNal keeps a copy
        addNal(pos, n, w.buf, w.start);
        pos += n.total;
        continue;
      }
    }
    // Not video here: audio (or junk) until video resumes, or the truncated tail.
    const gap = await resolveGap(pos);
    for (let k = 0; k < gap.frames.length; k += 2) {
      aOffsets.push(gap.frames[k]!);
      aSizes.push(gap.frames[k + 1]!);
    }
    if (gap.resumeAt !== undefined) {
      finishAu();
      gaps++;
      gapBytes += gap.resumeAt - pos;
      if (!gap.split) unsplitGaps++;
      pos = gap.resumeAt;
      continue;
    }
    // Tail: keep the open access unit unless the bytes here continue it (a cut slice of the same picture).
    const lastAudioEnd = gap.frames.length ? gap.frames[gap.frames.length - 2]! + gap.frames[gap.frames.length - 1]! : pos;
    const tw = await main.cover(pos, NEED);
    main.load(pos, pos + ls + 64); // what continuesAu and cutNalAt read
    if (au && continuesAu(tw.buf, tw.start, pos, au.state)) {
      au = undefined;
      droppedTailSamples++;
      stopReason = `a video sample is cut at offset ${pos}`;
    } else if (gap.frames.length && lastAudioEnd === end) {
      stopReason = 'reached the end of the media data (after an audio frame)';
    } else if (gap.frames.length) {
      stopReason = `cut inside the audio after offset ${lastAudioEnd}`;
    } else if (cutNalAt(tw.buf, tw.start, pos)) {
      stopReason = `the video NAL unit at offset ${pos} runs past the end of the data (cut while writing)`;
    } else {
      stopReason = `no video or audio parses from offset ${pos}`;
    }
    finishAu();
    pos = Math.max(pos, lastAudioEnd);
    break;
  }
  if (au) {
    if (opts.dataEndIsClean) finishAu();
    else {
      droppedTailSamples++;
      stopReason = `the file ends exactly after a NAL unit at offset ${pos}; its access unit may be incomplete and was dropped`;
      pos = au.offset;
      au = undefined;
    }
  }
  opts.onProgress?.(end - start, end - start);

  const lastVideoEnd = vOffsets.length ? vOffsets.get(vOffsets.length - 1) + vSizes.get(vSizes.length - 1) : start;
  const lastAudioEnd = aOffsets.length ? aOffsets.get(aOffsets.length - 1) + aSizes.get(aSizes.length - 1) : start;
  return {
    video: { offsets: vOffsets.view(), sizes: vSizes.view(), pocs: vPocs.view(), sync: vSync.view() },
    ...(audioParser && unsplitGaps === 0 && aOffsets.length ? { audio: { offsets: aOffsets.view(), sizes: aSizes.view() } } : {}),
    gaps,
    gapBytes,
    unsplitGaps,
    endOffset: Math.max(lastVideoEnd, audioParser && unsplitGaps === 0 ? lastAudioEnd : start),
    stopReason,
    droppedTailSamples,
    ...(inbandSps ? { inbandSps } : {}),
    ...(inbandPps ? { inbandPps } : {}),
  };

  /** A plausible NAL unit header at p whose length runs past the end: the cut tail of the video. */
  function cutNalAt(b: Buffer, bStart: number, p: number): boolean {
    const i = p - bStart;
    if (p + ls + 1 > end || i + ls + 1 > b.length) return p < end; // not even a whole length prefix left
    let len = 0;
    for (let k = 0; k < ls; k++) len = len * 256 + b[i + k]!;
    return len > 0 && len <= video.maxNalSize && p + ls + len > end && validNalHeader(b[i + ls]!, video.allowedTypes);
  }

  function continuesAu(b: Buffer, bStart: number, p: number, state: AuState): boolean {
    const i = p - bStart;
    if (i + ls + 2 > b.length || p + ls + 2 > end) return false;
    const h = b[i + ls]!;
    if (!validNalHeader(h, video.allowedTypes) || !isSlice(h & 0x1f)) return false;
    const slice = parseSliceHeader(b, i + ls, Math.min(b.length, end - bStart, i + ls + 64), video.ps);
    return slice !== undefined && !startsAccessUnit(state, { type: h & 0x1f, refIdc: (h >> 5) & 3, slice });
  }
}

function spsOf(ps: ParamSets, ppsId: number): Sps | undefined {
  const pps = ps.pps.get(ppsId);
  return pps ? ps.sps.get(pps.spsId) : undefined;
}

/** SEI messages (type, size, payload) must tile the NAL unit up to its rbsp trailing bits. */
export function validSei(b: Uint8Array, start: number, end: number): boolean {
  const r = unescapeRbsp(b, start + 1, end);
  let i = 0;
  for (;;) {
    if (i >= r.length) return false;
    if (r[i] === 0x80 && r.subarray(i + 1).every((x) => x === 0)) return i > 0;
    let type = 0;
    while (r[i] === 0xff) (type += 255), i++;
    if (i >= r.length) return false;
    type += r[i++]!;
    let size = 0;
    while (r[i] === 0xff) (size += 255), i++;
    if (i >= r.length) return false;
    size += r[i++]!;
    i += size;
    if (i > r.length || type > 1000) return false;
  }
}

/**
 * The window of a BlockReader (same positions, sizes and `loads` as one, so the scan's decisions do not
 * change), but its bytes are read only where `load` asks for them, in PIECE-sized pieces: a scan that
 * hops over large NAL units reads a fraction of the file.
 */
class LazyBlockReader {
  private readonly buf: Buffer;
  private winStart = 0;
  private winLen = 0;
  /** Per PIECE of the window: its bytes have been read. */
  private readonly loaded: Uint8Array;
  loads = 0;
  /** Read-ahead size of the next load, and where the last one ended (absolute). */
  private next = PIECE;
  private lastEnd = -Infinity;

  constructor(
    private readonly fd: number,
    readonly limit: number,
    /** File size: a block read stops there (as BlockReader's short read at EOF). */
    private readonly fileBytes: number,
    readonly blockSize = BLOCK,
  ) {
    this.buf = Buffer.allocUnsafe(blockSize);
    this.loaded = new Uint8Array(Math.ceil(blockSize / PIECE));
  }

  /** The whole window (its bytes valid only where loaded). */
  get current(): { buf: Buffer; start: number } {
    return { buf: this.buf.subarray(0, this.winLen), start: this.winStart };
  }

  /** Whether the window holds [pos, pos+need) (clipped to `limit`): BlockReader.window's test. */
  holds(pos: number, need: number): boolean {
    const end = Math.min(pos + need, this.limit);
    return pos >= this.winStart && end <= this.winStart + this.winLen;
  }

  /** BlockReader.cover, without reading: the window moves to pos unless it holds [pos, pos+need) (nothing is read yet). */
  async cover(pos: number, need: number): Promise<{ buf: Buffer; start: number }> {
    if (!this.holds(pos, need)) {
      this.winStart = pos;
      this.winLen = Math.max(0, Math.min(this.blockSize, this.limit - pos, this.fileBytes - pos));
      this.loaded.fill(0);
      this.loads++;
      // The loads are synchronous: let the event loop run once per block (as BlockReader's async read did).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this.current;
  }

  /** Reads the window's bytes in [from, to) (clipped to the window) unless they are already loaded. */
  load(from: number, to: number): void {
    const a = Math.max(from, this.winStart) - this.winStart;
    const b = Math.min(to, this.winStart + this.winLen) - this.winStart;
    if (b <= a) return;
    let first = Math.floor(a / PIECE);
    let last = Math.floor((b - 1) / PIECE);
    while (first <= last && this.loaded[first]) first++;
    while (last >= first && this.loaded[last]) last--;
    if (first > last) return;
    const s = first * PIECE;
    // Small NAL units and audio frames back to back: read ahead in growing pieces (as a block read would).
    const gap = this.winStart + s - this.lastEnd;
    this.next = gap >= 0 && gap < SKIP_MIN ? Math.min(READ_MAX, this.next * 2) : PIECE;
    const e = Math.min(this.winLen, Math.max(last + 1, Math.ceil((s + this.next) / PIECE)) * PIECE);
    // Synchronous positioned reads (as SampleCheck's): a few KB each, one per large NAL unit, where an
    // async read's round trip through the thread pool would cost more than the bytes it skips.
    let got = 0;
    while (got < e - s) {
      const r = readSync(this.fd, this.buf, s + got, e - s - got, this.winStart + s + got);
      if (r === 0) break;
      got += r;
    }
    if (got < e - s) this.buf.fill(0, s + got, e); // the file shrank under the scan
    this.loaded.fill(1, first, Math.ceil(e / PIECE));
    this.lastEnd = this.winStart + e;
  }
}
