// Track layout taken from a good reference MP4 of the same camera (like untrunc): codec config,
// timescales, sample durations, sample descriptions — what a file without moov is missing.
import { open, type FileHandle } from 'node:fs/promises';
import { childBoxes, findChild } from './box-reader.js';
import { childNode, nodeAt, parseBox, type BoxNode } from './box-tree.js';
import { readChunkOffsets } from './chunk-offsets.js';
import { classifyOpen } from './classify.js';
import { readAt } from './file-io.js';
import { describeFragment } from './fragment-trim.js';
import { DEFAULT_NAL_TYPES, parsePps, parseSps, type ParamSets } from './h264-nal.js';
import { handlerOf, trackIdOf, trexDefaults } from './moov-info.js';
import { parseAudioSpecificConfig, type AudioSpecificConfig } from './aac-frame.js';

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
  const moov = parseBox(await readAt(fh, moovBox.offset, moovBox.size));
  const trex = trexDefaults(moov);
  const firstMoof = cls.boxes.find((b) => b.type === 'moof' && !b.truncated);
  const fragment = firstMoof ? describeFragment(parseBox(await readAt(fh, firstMoof.offset, firstMoof.size)), firstMoof.offset, trex) : undefined;

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
  if (!mdhd || !hdlr || !stsd || !mediaHeader || !tkhd || !stbl) throw new Error(`reference track ${trackId} lacks mdhd/hdlr/stsd/media header`);
  const v1 = mdhd[0] === 1;
  const timescale = mdhd.readUInt32BE(v1 ? 20 : 12);
  const language = mdhd.readUInt16BE(v1 ? 32 : 20);

  // Typical sample duration: stts (most common delta), else trex / first fragment.
  let sampleDelta = mostCommonDelta(childNode(stbl, 'stts')?.payload);
  if (!sampleDelta) {
    const t = fragment?.find((f) => f.tfhd.trackId === trackId);
    const durations = t?.runs.flatMap((r) => r.trun.samples.map((s) => s.duration ?? t.tfhd.defaultSampleDuration ?? trex.get(trackId)?.defaultSampleDuration ?? 0)) ?? [];
    sampleDelta = mode(durations.filter((d) => d > 0)) ?? t?.tfhd.defaultSampleDuration ?? trex.get(trackId)?.defaultSampleDuration ?? 0;
  }
  if (!sampleDelta) throw new Error(`reference track ${trackId}: no sample duration found`);

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

  const tv1 = tkhd[0] === 1;
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
  const entry = childBoxes(s, 8, s.length).next().value;
  if (!entry) throw new Error('reference video stsd has no sample entry');
  if (entry.type !== 'avc1' && entry.type !== 'avc3') throw new Error(`reference video codec '${entry.type}' is not H.264 (avc1/avc3)`);
  const width = s.readUInt16BE(entry.start + 24);
  const height = s.readUInt16BE(entry.start + 26);
  const avcC = findChild(s, entry.start + 78, entry.end, 'avcC');
  if (!avcC) throw new Error('reference avc1 entry has no avcC');
  const c = s.subarray(avcC.start, avcC.end);
  const lengthSize = (c[4]! & 3) + 1;
  const ps: ParamSets = { sps: new Map(), pps: new Map() };
  const spsNals: Buffer[] = [];
  const ppsNals: Buffer[] = [];
  let o = 5;
  // avcC: count, then (u16 length, NAL) per parameter set; SPS first, then PPS.
  const readSets = <T extends { id: number }>(count: number, parse: (b: Buffer, start: number, end: number) => T, into: Map<number, T>, nals: Buffer[]) => {
    for (let i = 0; i < count; i++) {
      const len = c.readUInt16BE(o);
      const set = parse(c, o + 2, o + 2 + len);
      into.set(set.id, set);
      nals.push(Buffer.from(c.subarray(o + 2, o + 2 + len)));
      o += 2 + len;
    }
  };
  readSets(c[o++]! & 0x1f, parseSps, ps.sps, spsNals);
  readSets(c[o++]!, parsePps, ps.pps, ppsNals);
  if (lengthSize === 3) throw new Error('avcC NAL length size 3 is not allowed');
  if (entry.type === 'avc1' && (ps.sps.size === 0 || ps.pps.size === 0)) throw new Error('reference avcC holds no SPS/PPS');
  const nalTypes = new Set(DEFAULT_NAL_TYPES);
  for (const t of [2, 3, 4]) nalTypes.delete(t); // data partitioning: Extended profile only, never from cameras
  for (const t of await sampleNalTypes(fh, trak, fragment, base.trackId, lengthSize)) nalTypes.add(t);
  return { ...base, codec: entry.type, width, height, lengthSize, ps, nalTypes, spsNals, ppsNals };
}

function audioLayout(trak: BoxNode, trex: ReturnType<typeof trexDefaults>, fragment: ReturnType<typeof describeFragment> | undefined): AudioLayout {
  const base = baseLayout(trak, trex, fragment);
  const s = base.stsd;
  const entry = childBoxes(s, 8, s.length).next().value;
  if (!entry) throw new Error('reference audio stsd has no sample entry');
  const version = s.readUInt16BE(entry.start + 8);
  const channels = s.readUInt16BE(entry.start + 16);
  const sampleRate = s.readUInt32BE(entry.start + 24) >>> 16;
  const layout: AudioLayout = { ...base, codec: entry.type, channels, sampleRate };
  if (entry.type === 'mp4a') {
    const childStart = entry.start + 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
    const esds = findChild(s, childStart, entry.end, 'esds');
    const dsi = esds && decoderSpecificInfo(s.subarray(esds.start + 4, esds.end));
    if (dsi) {
      try {
        layout.asc = parseAudioSpecificConfig(dsi);
      } catch {
        /* unknown config: audio will not be recovered */
      }
    }
  }
  return layout;
}

/** The DecoderSpecificInfo (tag 5) bytes inside an esds ES_Descriptor. */
export function decoderSpecificInfo(d: Buffer): Buffer | undefined {
  let o = 0;
  const readLen = () => {
    let n = 0;
    for (let i = 0; i < 4 && o < d.length; i++) {
      const b = d[o++]!;
      n = (n << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return n;
  };
  while (o < d.length) {
    const tag = d[o++]!;
    const len = readLen();
    if (tag === 0x03) {
      const flags = d[o + 2]!;
      o += 3;
      if (flags & 0x80) o += 2;
      if (flags & 0x40) o += 1 + d[o]!;
      if (flags & 0x20) o += 2;
    } else if (tag === 0x04) o += 13;
    else if (tag === 0x05) return d.subarray(o, o + len);
    else o += len;
  }
  return undefined;
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

function mode(values: number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
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
  if (stsz && stsc && co && stsz.length >= 12 && stsz.readUInt32BE(8) > 0) {
    const fixed = stsz.readUInt32BE(4);
    const count = Math.min(stsz.readUInt32BE(8), 30);
    const chunks = readChunkOffsets(co);
    const stscN = stsc.readUInt32BE(4);
    let sample = 0;
    for (let e = 0; e < stscN && sample < count; e++) {
      const firstChunk = stsc.readUInt32BE(8 + e * 12) - 1;
      const perChunk = stsc.readUInt32BE(12 + e * 12);
      const nextFirst = e + 1 < stscN ? stsc.readUInt32BE(8 + (e + 1) * 12) - 1 : chunks.length;
      for (let ch = firstChunk; ch < nextFirst && sample < count; ch++) {
        let off = chunks[ch]!;
        for (let k = 0; k < perChunk && sample < count; k++, sample++) {
          const size = fixed || stsz.readUInt32BE(12 + sample * 4);
          samples.push([off, size]);
          off += size;
        }
      }
    }
  } else if (fragment) {
    for (const r of fragment.find((t) => t.tfhd.trackId === trackId)?.runs ?? []) for (let i = 0; i < r.starts.length && samples.length < 30; i++) samples.push([r.starts[i]!, r.sizes[i]!]);
  }
  const types = new Set<number>();
  for (const [off, size] of samples) {
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
