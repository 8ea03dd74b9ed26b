// One movie fragment's moof: does it start with a video keyframe, its decode time and duration.
import { BoxFormatError, Reader, child, children, type Box } from './boxes.js';
import type { InitInfo, TrackInfo } from './init.js';

export const TFHD_BASE_DATA_OFFSET = 0x000001;
export const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
export const TFHD_DEFAULT_DURATION = 0x000008;
export const TFHD_DEFAULT_SIZE = 0x000010;
export const TFHD_DEFAULT_FLAGS = 0x000020;
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

export const TRUN_DATA_OFFSET = 0x000001;
export const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
export const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
export const TRUN_SAMPLE_FLAGS = 0x000400;
export const TRUN_SAMPLE_CTO = 0x000800;

/** sample_is_non_sync_sample in ISO BMFF sample flags. */
export const SAMPLE_IS_NON_SYNC = 0x00010000;

/** True when sample flags describe a sync sample (a keyframe). */
export function isSyncSample(sampleFlags: number): boolean {
  return (sampleFlags & SAMPLE_IS_NON_SYNC) === 0;
}

export interface FragmentInfo {
  /** mfhd sequence number. */
  sequence: number;
  /** The first sample of the video track's run is a sync sample (false without a video track run). */
  keyframe: boolean;
  /** The track the times are of: the video track when the fragment has one, else its first track. */
  trackId: number;
  timescale: number;
  /** tfdt base media decode time of that track, in its timescale. */
  decodeTime: number;
  /** Sum of that track's sample durations in this fragment, in its timescale. */
  duration: number;
  sampleCount: number;
  /**
   * Bytes from the start of the moof to the end of the last sample (when every track's data is
   * addressed from the moof: default-base-is-moof, no explicit base offset), else undefined.
   */
  dataEnd: number | undefined;
}

interface TrafSummary {
  trackId: number;
  decodeTime: number | undefined;
  duration: number;
  sampleCount: number;
  firstSampleFlags: number | undefined;
  dataEnd: number | undefined;
}

/** Reads the moof box (header included) against the init's tracks. */
export function parseMoof(moof: Uint8Array, init: InitInfo): FragmentInfo {
  const top = children(moof, 0, moof.length, 'fragment');
  const m = top[0];
  if (!m || m.type !== 'moof') throw new BoxFormatError(`expected a moof box, found '${m?.type ?? 'nothing'}'`);
  const kids = children(moof, m.start, m.end, 'moof');
  const mfhd = kids.find((k) => k.type === 'mfhd');
  const sequence = mfhd ? new Reader(moof, mfhd, 'mfhd').u32(4, 'sequence number') : 0;
  const trafs: TrafSummary[] = [];
  for (const k of kids) if (k.type === 'traf') trafs.push(summarizeTraf(moof, k, init));
  if (trafs.length === 0) throw new BoxFormatError('moof has no traf');
  const main = trafs.find((t) => t.trackId === init.videoTrackId) ?? trafs[0]!;
  const track = init.tracks.find((t) => t.id === main.trackId);
  if (!track) throw new BoxFormatError(`traf of track ${main.trackId}, which the moov does not declare`);
  const isVideo = main.trackId === init.videoTrackId;
  let dataEnd: number | undefined = 0;
  for (const t of trafs) dataEnd = t.dataEnd === undefined || dataEnd === undefined ? undefined : Math.max(dataEnd, t.dataEnd);
  return {
    sequence,
    keyframe: isVideo && main.sampleCount > 0 && main.firstSampleFlags !== undefined && isSyncSample(main.firstSampleFlags),
    trackId: main.trackId,
    timescale: track.timescale,
    decodeTime: main.decodeTime ?? 0,
    duration: main.duration,
    sampleCount: main.sampleCount,
    dataEnd,
  };
}

function summarizeTraf(b: Uint8Array, traf: Box, init: InitInfo): TrafSummary {
  const tfhdBox = child(b, traf, 'tfhd', 'traf');
  if (!tfhdBox) throw new BoxFormatError('traf without tfhd');
  const th = new Reader(b, tfhdBox, 'tfhd');
  const tf = th.u24(1, 'flags');
  const trackId = th.u32(4, 'track ID');
  const track: TrackInfo | undefined = init.tracks.find((t) => t.id === trackId);
  const where = `traf of track ${trackId}`;
  let o = 8;
  let explicitBase = false;
  if (tf & TFHD_BASE_DATA_OFFSET) {
    th.u64(o, 'base data offset');
    explicitBase = true;
    o += 8;
  }
  if (tf & TFHD_SAMPLE_DESCRIPTION_INDEX) o += 4;
  let defDuration = track?.defaults.sampleDuration ?? 0;
  let defSize = track?.defaults.sampleSize ?? 0;
  let defFlags = track?.defaults.sampleFlags ?? 0;
  if (tf & TFHD_DEFAULT_DURATION) (defDuration = th.u32(o, 'default sample duration')), (o += 4);
  if (tf & TFHD_DEFAULT_SIZE) (defSize = th.u32(o, 'default sample size')), (o += 4);
  if (tf & TFHD_DEFAULT_FLAGS) (defFlags = th.u32(o, 'default sample flags')), (o += 4);
  const moofBased = !explicitBase && (tf & TFHD_DEFAULT_BASE_IS_MOOF) !== 0;

  let decodeTime: number | undefined;
  let duration = 0;
  let sampleCount = 0;
  let firstSampleFlags: number | undefined;
  let dataEnd: number | undefined = moofBased ? 0 : undefined;
  for (const k of children(b, traf.start, traf.end, where)) {
    if (k.type === 'tfdt') {
      const r = new Reader(b, k, `${where} tfdt`);
      decodeTime = r.full().version === 1 ? r.u64(4, 'base media decode time') : r.u32(4, 'base media decode time');
    } else if (k.type === 'trun') {
      const run = readRun(b, k, `${where} trun`, defDuration, defSize, defFlags);
      if (firstSampleFlags === undefined && run.count > 0) firstSampleFlags = run.firstFlags;
      duration += run.duration;
      sampleCount += run.count;
      if (dataEnd !== undefined) dataEnd = run.dataOffset === undefined ? undefined : Math.max(dataEnd, run.dataOffset + run.bytes);
    }
  }
  return { trackId, decodeTime, duration, sampleCount, firstSampleFlags, dataEnd };
}

interface RunSummary {
  count: number;
  duration: number;
  bytes: number;
  firstFlags: number;
  dataOffset: number | undefined;
}

/** Walks a trun: its sample count is checked against its bytes before any per-sample read. */
export function readRun(b: Uint8Array, box: Box, where: string, defDuration: number, defSize: number, defFlags: number): RunSummary {
  const r = new Reader(b, box, where);
  const flags = r.u24(1, 'flags');
  const count = r.u32(4, 'sample count');
  let o = 8;
  let dataOffset: number | undefined;
  if (flags & TRUN_DATA_OFFSET) (dataOffset = r.i32(o, 'data offset')), (o += 4);
  let firstFlags: number | undefined;
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) (firstFlags = r.u32(o, 'first sample flags')), (o += 4);
  const per = (flags & TRUN_SAMPLE_DURATION ? 4 : 0) + (flags & TRUN_SAMPLE_SIZE ? 4 : 0) + (flags & TRUN_SAMPLE_FLAGS ? 4 : 0) + (flags & TRUN_SAMPLE_CTO ? 4 : 0);
  if (per > 0 && count > (r.length - o) / per) throw new BoxFormatError(`${where} declares ${count} samples but its ${r.length} bytes hold at most ${Math.floor((r.length - o) / per)}`);
  let duration = 0;
  let bytes = 0;
  if (per === 0) {
    duration = count * defDuration;
    bytes = count * defSize;
  } else {
    for (let i = 0; i < count; i++) {
      let p = o + i * per;
      if (flags & TRUN_SAMPLE_DURATION) (duration += r.u32(p, 'sample duration')), (p += 4);
      else duration += defDuration;
      if (flags & TRUN_SAMPLE_SIZE) (bytes += r.u32(p, 'sample size')), (p += 4);
      else bytes += defSize;
      if (i === 0 && firstFlags === undefined && flags & TRUN_SAMPLE_FLAGS) firstFlags = r.u32(p, 'sample flags');
    }
  }
  return { count, duration, bytes, firstFlags: firstFlags ?? defFlags, dataOffset };
}
