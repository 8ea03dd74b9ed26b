// Track layout taken from a good reference MP4 of the same camera (like untrunc): codec config,
// timescales, sample durations, sample descriptions — what a file without moov is missing.
import { open, type FileHandle } from 'node:fs/promises';
import { readBox } from './box-reader.js';
import { childNode, nodeAt, parseBox, type BoxNode } from './box-tree.js';
import { readChunkOffsets } from './chunk-offsets.js';
import { classifyOpen } from './classify.js';
import { asMp4Error, LIMITS, Mp4FormatError } from './errors.js';
import { readAt } from './file-io.js';
import { describeFragment } from './fragment-trim.js';
import { DEFAULT_NAL_TYPES, type ParamSets } from './h264-nal.js';
import { handlerOf, trackIdOf, trexDefaults } from './moov-info.js';
import { audioSampleEntry, avcSampleEntry, sampleEntries } from './sample-entry.js';
import type { AudioSpecificConfig } from './aac-frame.js';

export { decoderSpecificInfo } from './sample-entry.js';

export interface TrackLayout {
  trackId: number;
  timescale: number;
  /** mdhd language (packed ISO-639-2). */
  language: number;
  /** Typical (most common) sample duration in the media timescale. */
  sampleDelta: number;
  /** stsd payload (version/flags, entry count, sample entries) copied as is. */
  stsd: Buffer;
  hdlr: Buffer;
  /** vmhd or smhd node. */
  mediaHeader: BoxNode;
  /** tkhd width/height (16.16 fixed point) and alternate group. */
  tkhdWidth: number;
  tkhdHeight: number;
  alternateGroup: number;
  /** media_time of the first non-empty edit (0 without an edit list). */
  editMediaTime: number;
  /** Sample group boxes copied to the rebuilt track when they describe every sample alike (AAC 'roll'). */
  sampleGroups?: { sgpd: Buffer; groupingType: string; descriptionIndex: number };
}

export interface VideoLayout extends TrackLayout {
  codec: string;
  width: number;
  height: number;
  lengthSize: number;
  ps: ParamSets;
  /** NAL types accepted when walking raw data: 1..12 plus the ones seen in the reference's samples. */
  nalTypes: Set<number>;
  /** The SPS and PPS NAL units of the avcC. */
  spsNals: Buffer[];
  ppsNals: Buffer[];
}

export interface AudioLayout extends TrackLayout {
  codec: string;
  channels: number;
  sampleRate: number;
  asc?: AudioSpecificConfig;
}

export interface ReferenceLayout {
  ftyp?: Buffer;
  video: VideoLayout;
  audio?: AudioLayout;
  notes: string[];
}

export async function readReferenceLayout(path: string): Promise<ReferenceLayout> {
  const fh = await open(path, 'r');
  try {
    return await readLayout(fh, path);
  } catch (e) {
    throw asMp4Error(e, `reference ${path}`);
  } finally {
    await fh.close();
  }
}

async function readLayout(fh: FileHandle, path: string): Promise<ReferenceLayout> {
  const cls = await classifyOpen(fh);
  if (!['clean', 'moov-at-end', 'fragmented-clean', 'fragmented-partial'].includes(cls.kind)) throw new Error(`reference ${path} has no usable moov (${cls.kind}): ${cls.reason}`);
  const notes: string[] = [];
  const ftypBox = cls.boxes.find((b) => b.type === 'ftyp' && !b.truncated);
  const ftyp = ftypBox ? await readAt(fh, ftypBox.offset, ftypBox.size) : undefined;
  const moovBox = cls.boxes.find((b) => b.type === 'moov')!;
  const moov = parseBox(await readBox(fh, moovBox, LIMITS.maxMoovBytes), moovBox.offset);
  const trex = trexDefaults(moov);
  const firstMoof = cls.boxes.find((b) => b.type === 'moof' && !b.truncated);
  const fragment = firstMoof ? describeFragment(parseBox(await readBox(fh, firstMoof, LIMITS.maxMoofBytes), firstMoof.offset), firstMoof.offset, trex, 'the first moof') : undefined;

  let video: VideoLayout | undefined;
  let audio: AudioLayout | undefined;
  for (const trak of moov.children ?? []) {
    if (trak.type !== 'trak') continue;
    const handler = handlerOf(trak);
    if (handler === 'vide' && !video) video = await videoLayout(fh, trak, trex, fragment);
    else if (handler === 'soun' && !audio) audio = audioLayout(trak, trex, fragment);
  }
  if (!video) throw new Error(`reference ${path} has no video track`);
  if (!audio) notes.push('reference has no audio track');
  return { ...(ftyp ? { ftyp } : {}), video, ...(audio ? { audio } : {}), notes };
}

function baseLayout(trak: BoxNode, trex: ReturnType<typeof trexDefaults>, fragment: ReturnType<typeof describeFragment> | undefined): TrackLayout {
  const trackId = trackIdOf(trak);
  const mdhd = nodeAt(trak, ['mdia', 'mdhd'])?.payload;
  const hdlr = nodeAt(trak, ['mdia', 'hdlr'])?.payload;
  const minf = nodeAt(trak, ['mdia', 'minf']);
  const stbl = minf && childNode(minf, 'stbl');
  const stsd = stbl && childNode(stbl, 'stsd')?.payload;
  const mediaHeader = minf?.children?.find((c) => c.type === 'vmhd' || c.type === 'smhd');
  const tkhd = childNode(trak, 'tkhd')?.payload;
  if (!mdhd || !hdlr || !stsd || !mediaHeader || !tkhd || !stbl) throw new Mp4FormatError(`reference track ${trackId} lacks mdhd/hdlr/stsd/media header`);
  const v1 = mdhd[0] === 1;
  if (mdhd.length < (v1 ? 36 : 24)) throw new Mp4FormatError(`reference track ${trackId}: mdhd is ${mdhd.length} bytes, too short for version ${mdhd[0]}`);
  const timescale = mdhd.readUInt32BE(v1 ? 20 : 12);
  const language = mdhd.readUInt16BE(v1 ? 32 : 20);
  const tv1 = tkhd[0] === 1;
  if (tkhd.length < (tv1 ? 96 : 84)) throw new Mp4FormatError(`reference track ${trackId}: tkhd is ${tkhd.length} bytes, too short for version ${tkhd[0]}`);

  // Typical sample duration: stts (most common delta), else trex / first fragment.
  let sampleDelta = mostCommonDelta(childNode(stbl, 'stts')?.payload);
  if (!sampleDelta) {
    const t = fragment?.find((f) => f.tfhd.trackId === trackId);
    const fallback = t?.tfhd.defaultSampleDuration ?? trex.get(trackId)?.defaultSampleDuration ?? 0;
    // Durations weighted by how many samples have them (a run without per-sample durations: all the default).
    const durations = new Map<number, number>();
    const add = (d: number, n: number) => d > 0 && n > 0 && durations.set(d, (durations.get(d) ?? 0) + n);
    for (const r of t?.runs ?? []) {
      if (r.trun.durations) for (const d of r.trun.durations) add(d, 1);
      else add(fallback, r.count);
    }
    sampleDelta = mode(durations) ?? fallback;
  }
  if (!sampleDelta) throw new Mp4FormatError(`reference track ${trackId}: no sample duration found`);

  let editMediaTime = 0;
  const elst = nodeAt(trak, ['edts', 'elst'])?.payload;
  if (elst && elst.length >= 8) {
    const ev1 = elst[0] === 1;
    const n = elst.readUInt32BE(4);
    for (let i = 0, o = 8; i < n && o + (ev1 ? 20 : 12) <= elst.length; i++, o += ev1 ? 20 : 12) {
      const mt = ev1 ? Number(elst.readBigInt64BE(o + 8)) : elst.readInt32BE(o + 4);
      if (mt >= 0) {
        editMediaTime = mt;
        break;
      }
    }
  }

  const layout: TrackLayout = {
    trackId,
    timescale,
    language,
    sampleDelta,
    stsd,
    hdlr,
    mediaHeader,
    tkhdWidth: tkhd.readUInt32BE(tkhd.length - 8),
    tkhdHeight: tkhd.readUInt32BE(tkhd.length - 4),
    alternateGroup: tkhd.readUInt16BE(tv1 ? 4 + 28 + 8 + 2 : 4 + 20 + 8 + 2),
    editMediaTime,
  };
  const sgpd = childNode(stbl, 'sgpd')?.payload;
  const sbgp = childNode(stbl, 'sbgp')?.payload;
  if (sgpd && sbgp && sbgp.length >= 20 && sbgp[0] === 0 && sbgp.readUInt32BE(8) === 1) {
    layout.sampleGroups = { sgpd, groupingType: sbgp.toString('latin1', 4, 8), descriptionIndex: sbgp.readUInt32BE(16) };
  }
  return layout;
}

async function videoLayout(fh: FileHandle, trak: BoxNode, trex: ReturnType<typeof trexDefaults>, fragment: ReturnType<typeof describeFragment> | undefined): Promise<VideoLayout> {
  const base = baseLayout(trak, trex, fragment);
  const s = base.stsd;
  const entry = sampleEntries(s, 'reference video stsd')[0];
  if (!entry) throw new Mp4FormatError('reference video stsd has no sample entry');
  if (entry.type !== 'avc1' && entry.type !== 'avc3') throw new Mp4FormatError(`reference video codec '${entry.type}' is not H.264 (avc1/avc3)`);
  const avc = avcSampleEntry(s, entry, `reference ${entry.type}`);
  const ps: ParamSets = { sps: new Map(avc.avcC.sps.map((x) => [x.id, x])), pps: new Map(avc.avcC.pps.map((x) => [x.id, x])) };
  if (entry.type === 'avc1' && (ps.sps.size === 0 || ps.pps.size === 0)) throw new Mp4FormatError('reference avcC holds no SPS/PPS');
  const lengthSize = avc.avcC.lengthSize;
  const nalTypes = new Set(DEFAULT_NAL_TYPES);
  for (const t of [2, 3, 4]) nalTypes.delete(t); // data partitioning: Extended profile only, never from cameras
  for (const t of await sampleNalTypes(fh, trak, fragment, base.trackId, lengthSize)) nalTypes.add(t);
  return { ...base, codec: entry.type, width: avc.width, height: avc.height, lengthSize, ps, nalTypes, spsNals: avc.avcC.spsNals, ppsNals: avc.avcC.ppsNals };
}

function audioLayout(trak: BoxNode, trex: ReturnType<typeof trexDefaults>, fragment: ReturnType<typeof describeFragment> | undefined): AudioLayout {
  const base = baseLayout(trak, trex, fragment);
  const entry = sampleEntries(base.stsd, 'reference audio stsd')[0];
  if (!entry) throw new Mp4FormatError('reference audio stsd has no sample entry');
  // An AudioSpecificConfig that does not parse: the audio will not be recovered (the video still is).
  const a = audioSampleEntry(base.stsd, entry, `reference ${entry.type}`, true);
  return { ...base, codec: a.type, channels: a.channels, sampleRate: a.sampleRate, ...(a.asc ? { asc: a.asc } : {}) };
}

function mostCommonDelta(stts: Buffer | undefined): number {
  if (!stts || stts.length < 8) return 0;
  const n = stts.readUInt32BE(4);
  let best = 0;
  let bestCount = -1;
  for (let i = 0; i < n && 8 + i * 8 + 8 <= stts.length; i++) {
    const count = stts.readUInt32BE(8 + i * 8);
    const delta = stts.readUInt32BE(12 + i * 8);
    if (count > bestCount && delta > 0) {
      best = delta;
      bestCount = count;
    }
  }
  return best;
}

/** The value with the highest count (the first one seen among equals). */
function mode(counts: ReadonlyMap<number, number>): number | undefined {
  let best: number | undefined;
  let n = 0;
  for (const [v, c] of counts) if (c > n) (best = v), (n = c);
  return best;
}

/** NAL types found in the first few video samples of the reference. */
async function sampleNalTypes(fh: FileHandle, trak: BoxNode, fragment: ReturnType<typeof describeFragment> | undefined, trackId: number, lengthSize: number): Promise<Set<number>> {
  const samples: Array<[number, number]> = [];
  const stbl = nodeAt(trak, ['mdia', 'minf', 'stbl']);
  const stsz = stbl && childNode(stbl, 'stsz')?.payload;
  const stsc = stbl && childNode(stbl, 'stsc')?.payload;
  const co = stbl && (childNode(stbl, 'stco') ?? childNode(stbl, 'co64'));
  if (stsz && stsc && co && stsz.length >= 12 && stsc.length >= 8 && stsz.readUInt32BE(8) > 0) {
    // First samples from the sample tables; every read inside its table (a short table just ends the list).
    const fixed = stsz.readUInt32BE(4);
    const count = Math.min(stsz.readUInt32BE(8), 30, fixed ? Infinity : Math.floor((stsz.length - 12) / 4));
    const chunks = readChunkOffsets(co);
    const stscN = Math.min(stsc.readUInt32BE(4), Math.floor((stsc.length - 8) / 12));
    let sample = 0;
    for (let e = 0; e < stscN && sample < count; e++) {
      const firstChunk = stsc.readUInt32BE(8 + e * 12) - 1;
      const perChunk = stsc.readUInt32BE(12 + e * 12);
      const nextFirst = Math.min(e + 1 < stscN ? stsc.readUInt32BE(8 + (e + 1) * 12) - 1 : chunks.length, chunks.length);
      for (let ch = Math.max(0, firstChunk); ch < nextFirst && sample < count; ch++) {
        let off = chunks[ch]!;
        for (let k = 0; k < perChunk && sample < count; k++, sample++) {
          const size = fixed || stsz.readUInt32BE(12 + sample * 4);
          samples.push([off, size]);
          off += size;
        }
      }
    }
  } else if (fragment) {
    for (const r of fragment.find((t) => t.tfhd.trackId === trackId)?.runs ?? []) for (let i = 0; i < r.count && samples.length < 30; i++) samples.push([r.startOf(i), r.sizeOf(i)]);
  }
  const types = new Set<number>();
  for (const [off, size] of samples) {
    if (!(Number.isSafeInteger(off) && off >= 0) || size === 0) continue;
    const b = await readAt(fh, off, Math.min(size, 1 << 20));
    for (let p = 0; p + lengthSize < b.length; ) {
      let len = 0;
      for (let k = 0; k < lengthSize; k++) len = len * 256 + b[p + k]!;
      if (len === 0) break;
      types.add(b[p + lengthSize]! & 0x1f);
      p += lengthSize + len;
    }
  }
  return types;
}
