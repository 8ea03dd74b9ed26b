// Repairs a fragmented MP4 cut mid-fragment: keeps every complete fragment, and from the cut one
// every sample whose bytes are all present (trun sample counts and mdat size rewritten).
import { open, type FileHandle } from 'node:fs/promises';
import { boxHeader } from './box-writer.js';
import { childNode, nodeSize, parseBox, serializeNode, type BoxNode } from './box-tree.js';
import { classifyOpen } from './classify.js';
import { readAt, SequentialWriter } from './file-io.js';
import { summarizeTracks, trexDefaults, type RepairResult } from './moov-info.js';
import {
  parseTfhd,
  parseTrun,
  sampleSize,
  serializeTfhd,
  serializeTrun,
  TFHD_DEFAULT_BASE_IS_MOOF,
  TRUN_DATA_OFFSET,
  type Tfhd,
  type TrexDefaults,
  type Trun,
} from './trun.js';

const NON_SYNC = 0x10000;

export interface FragmentRun {
  node: BoxNode;
  trun: Trun;
  /** Absolute file offset of each sample and its size. */
  starts: number[];
  sizes: number[];
  sync: boolean[];
}

export interface FragmentTrack {
  node: BoxNode;
  tfhd: Tfhd;
  runs: FragmentRun[];
}

/** Resolves every sample of a moof to absolute file offsets (tfhd base rules, trun data offsets, defaults). */
export function describeFragment(moof: BoxNode, moofStart: number, trex: ReadonlyMap<number, TrexDefaults>): FragmentTrack[] {
  const out: FragmentTrack[] = [];
  let prevTrafEnd = moofStart;
  let firstTraf = true;
  for (const traf of moof.children ?? []) {
    if (traf.type !== 'traf') continue;
    const tfhdNode = childNode(traf, 'tfhd');
    if (!tfhdNode?.payload) throw new Error('traf without tfhd');
    const tfhd = parseTfhd(tfhdNode.payload);
    const tx = trex.get(tfhd.trackId);
    const base = tfhd.baseDataOffset ?? (tfhd.flags & TFHD_DEFAULT_BASE_IS_MOOF || firstTraf ? moofStart : prevTrafEnd);
    const runs: FragmentRun[] = [];
    let pos = base;
    let firstRun = true;
    for (const node of traf.children ?? []) {
      if (node.type !== 'trun' || !node.payload) continue;
      const trun = parseTrun(node.payload);
      pos = trun.dataOffset !== undefined ? base + trun.dataOffset : firstRun ? base : pos;
      const run: FragmentRun = { node, trun, starts: [], sizes: [], sync: [] };
      for (let i = 0; i < trun.samples.length; i++) {
        const size = sampleSize(trun, i, tfhd, tx);
        const flags = (i === 0 ? trun.firstSampleFlags : undefined) ?? trun.samples[i]!.flags ?? tfhd.defaultSampleFlags ?? tx?.defaultSampleFlags ?? 0;
        run.starts.push(pos);
        run.sizes.push(size);
        run.sync.push((flags & NON_SYNC) === 0);
        pos += size;
      }
      runs.push(run);
      firstRun = false;
    }
    out.push({ node: traf, tfhd, runs });
    prevTrafEnd = pos;
    firstTraf = false;
  }
  return out;
}

export async function trimPartialFragment(input: string, output: string): Promise<RepairResult> {
  const fh = await open(input, 'r');
  try {
    return await trimOpen(fh, output);
  } finally {
    await fh.close();
  }
}

async function trimOpen(fh: FileHandle, output: string): Promise<RepairResult> {
  const cls = await classifyOpen(fh);
  if (cls.kind !== 'fragmented-partial' && cls.kind !== 'fragmented-clean') throw new Error(`not a fragmented MP4 with a moov (${cls.kind}): ${cls.reason}`);
  const { boxes, fileBytes } = cls;
  const notes: string[] = [];
  const moovIdx = boxes.findIndex((b) => b.type === 'moov');
  const moovBox = boxes[moovIdx]!;
  const moov = parseBox(await readAt(fh, moovBox.offset, moovBox.size));
  const trex = trexDefaults(moov);
  const handlers = new Map(summarizeTracks(moov).map((t) => [t.trackId, t.handler]));
  const stats = { video: 0, keyframes: 0, audio: 0 };
  const count = (tracks: FragmentTrack[], keep?: Map<FragmentRun, number>) => {
    for (const t of tracks) {
      const h = handlers.get(t.tfhd.trackId);
      for (const r of t.runs) {
        const n = keep ? (keep.get(r) ?? 0) : r.sizes.length;
        if (h === 'vide') {
          stats.video += n;
          for (let i = 0; i < n; i++) if (r.sync[i]) stats.keyframes++;
        } else if (h === 'soun') stats.audio += n;
      }
    }
  };

  // Complete boxes form a prefix of the file; find where it ends and the cut fragment, if any.
  let prefixEnd = 0;
  let cut: { moofIdx: number } | undefined;
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i]!;
    if (b.truncated) break;
    if (i > moovIdx && b.type === 'moof') {
      const next = boxes[i + 1];
      if (next?.type === 'mdat' && !next.truncated) {
        count(describeFragment(parseBox(await readAt(fh, b.offset, b.size)), b.offset, trex));
        prefixEnd = next.offset + next.size;
        i++;
        continue;
      }
      cut = { moofIdx: i };
      break;
    }
    prefixEnd = b.offset + b.size;
  }

  const out = await SequentialWriter.create(output);
  try {
    await out.copyFrom(fh, 0, prefixEnd);
    const action = cls.kind === 'fragmented-clean' ? 'copy (already complete)' : 'trim-partial-fragment';
    let keptPartial = 0;
    let keptInputEnd = prefixEnd; // input bytes up to here are carried over (the rewritten moof aside)
    if (cut) {
      const moofBox = boxes[cut.moofIdx]!;
      const mdatBox = boxes[cut.moofIdx + 1];
      const moofNode = parseBox(await readAt(fh, moofBox.offset, moofBox.size));
      const rewritten = mdatBox?.type === 'mdat' ? planPartialFragment(moofNode, moofBox.offset, mdatBox, cls.scan.headerSizes[cut.moofIdx + 1]!, fileBytes, trex, out.position) : undefined;
      if (rewritten) {
        count(rewritten.tracks, rewritten.keep);
        keptPartial = rewritten.keptSamples;
        keptInputEnd = rewritten.payloadStart + rewritten.payloadLength;
        await out.write(rewritten.moof);
        await out.write(rewritten.mdatHeader);
        await out.copyFrom(fh, rewritten.payloadStart, rewritten.payloadLength);
        notes.push(`last fragment (moof at ${moofBox.offset}) cut: kept ${keptPartial} of ${rewritten.totalSamples} samples${rewritten.droppedTracks.length ? `, dropped track(s) ${rewritten.droppedTracks.join(', ')} with no complete sample` : ''}`);
      } else {
        notes.push(`last fragment (moof at ${moofBox.offset}) has no complete sample: dropped`);
      }
    }
    if (cls.scan.junkAt !== undefined && !cut) notes.push(`dropped ${fileBytes - cls.scan.junkAt} trailing bytes that are not boxes`);
    if (cls.kind === 'fragmented-partial' && !cut && cls.scan.junkAt === undefined) notes.push('dropped a cut box at the end of the file');
    if (stats.video + stats.audio === 0) notes.push('no complete sample survives: the output holds only the header (classifies as empty)');
    const outputBytes = out.position;
    await out.close();
    return {
      action,
      outputBytes,
      videoSamples: stats.video,
      keyframes: stats.keyframes,
      audioSamples: stats.audio,
      droppedBytes: fileBytes - keptInputEnd,
      notes: [`${cls.fragments?.complete ?? 0} complete fragment(s) copied`, ...notes],
    };
  } catch (e) {
    await out.discard();
    throw e;
  }
}

interface PartialPlan {
  moof: Buffer;
  mdatHeader: Buffer;
  payloadStart: number;
  payloadLength: number;
  tracks: FragmentTrack[];
  keep: Map<FragmentRun, number>;
  keptSamples: number;
  totalSamples: number;
  droppedTracks: number[];
}

/**
 * Plans the rewrite of a cut fragment: per track keep the samples whose bytes are all in the file,
 * truncate the truns (every kept trun gets an explicit data offset), drop empty trafs, and size the
 * new mdat to end at the last kept byte. Returns undefined when no sample survives.
 */
export function planPartialFragment(
  moof: BoxNode,
  moofStart: number,
  mdat: { offset: number; size: number },
  mdatHeaderSize: number,
  fileBytes: number,
  trex: ReadonlyMap<number, TrexDefaults>,
  outMoofStart: number,
): PartialPlan | undefined {
  const payloadStart = mdat.offset + mdatHeaderSize;
  const available = Math.min(fileBytes, mdat.offset + mdat.size);
  const tracks = describeFragment(moof, moofStart, trex);
  const keep = new Map<FragmentRun, number>();
  let keptSamples = 0;
  let totalSamples = 0;
  let keptEnd = payloadStart;
  const droppedTracks: number[] = [];
  const newChildren: BoxNode[] = [];
  const placed: Array<{ trun: Trun; node: BoxNode; firstStart: number; traf: FragmentTrack; tfhdNode: BoxNode }> = [];

  for (const child of moof.children ?? []) {
    const track = tracks.find((t) => t.node === child);
    if (!track) {
      newChildren.push(child);
      continue;
    }
    let trackKept = 0;
    let stop = false;
    const runs: Array<{ run: FragmentRun; n: number }> = [];
    for (const run of track.runs) {
      totalSamples += run.sizes.length;
      if (stop) continue;
      let n = 0;
      while (n < run.sizes.length && run.starts[n]! >= payloadStart && run.starts[n]! + run.sizes[n]! <= available) n++;
      if (n < run.sizes.length) stop = true;
      if (n > 0) {
        runs.push({ run, n });
        keep.set(run, n);
        trackKept += n;
        keptEnd = Math.max(keptEnd, run.starts[n - 1]! + run.sizes[n - 1]!);
      }
    }
    if (trackKept === 0) {
      droppedTracks.push(track.tfhd.trackId);
      continue;
    }
    keptSamples += trackKept;
    // New traf: tfhd (base made the new moof when it was explicit), other boxes as they were, truncated truns.
    const tfhd: Tfhd = { ...track.tfhd };
    if (tfhd.baseDataOffset !== undefined) tfhd.baseDataOffset = outMoofStart;
    const tfhdNode: BoxNode = { type: 'tfhd', payload: serializeTfhd(tfhd) };
    const trafChildren: BoxNode[] = [];
    const keptRuns = new Map(runs.map((r) => [r.run.node, r]));
    for (const c of track.node.children ?? []) {
      if (c.type === 'tfhd') trafChildren.push(tfhdNode);
      else if (c.type === 'trun') {
        const r = keptRuns.get(c);
        if (!r) continue;
        const trun: Trun = { ...r.run.trun, flags: r.run.trun.flags | TRUN_DATA_OFFSET, dataOffset: 0, samples: r.run.trun.samples.slice(0, r.n) };
        const node: BoxNode = { type: 'trun', payload: serializeTrun(trun) };
        trafChildren.push(node);
        placed.push({ trun, node, firstStart: r.run.starts[0]!, traf: track, tfhdNode });
      } else trafChildren.push(c);
    }
    newChildren.push({ type: 'traf', children: trafChildren });
  }
  if (keptSamples === 0) return undefined;

  const newMoof: BoxNode = { type: 'moof', children: newChildren };
  const moofSize = nodeSize(newMoof);
  const payloadLength = keptEnd - payloadStart;
  const mdatHeader = boxHeader('mdat', payloadLength);
  const outPayloadStart = outMoofStart + moofSize + mdatHeader.length;
  const map = (x: number) => x - payloadStart + outPayloadStart;

  // Fill in data offsets against each traf's base in the output file.
  let prevTrafEnd = outMoofStart;
  let firstTraf = true;
  let lastTraf: FragmentTrack | undefined;
  let trafEnd = outMoofStart;
  for (const p of placed) {
    if (p.traf !== lastTraf) {
      if (lastTraf) {
        prevTrafEnd = trafEnd;
        firstTraf = false;
      }
      lastTraf = p.traf;
    }
    const t = p.traf.tfhd;
    const base = t.baseDataOffset !== undefined || t.flags & TFHD_DEFAULT_BASE_IS_MOOF || firstTraf ? outMoofStart : prevTrafEnd;
    const off = map(p.firstStart) - base;
    if (off < -0x80000000 || off > 0x7fffffff) throw new Error(`data offset ${off} does not fit a trun`);
    p.trun.dataOffset = off;
    p.node.payload = serializeTrun(p.trun);
    let end = map(p.firstStart);
    const run = p.traf.runs.find((r) => r.trun.samples.length >= p.trun.samples.length && r.starts[0] === p.firstStart);
    for (let i = 0; i < p.trun.samples.length; i++) end += run?.sizes[i] ?? 0;
    trafEnd = end;
  }
  const moofBuf = serializeNode(newMoof);
  if (moofBuf.length !== moofSize) throw new Error('internal: moof size changed while filling data offsets');
  return { moof: moofBuf, mdatHeader, payloadStart, payloadLength, tracks, keep, keptSamples, totalSamples, droppedTracks };
}
