// Repairs a fragmented MP4 cut mid-fragment: keeps every complete fragment, and from the cut one
// every sample whose bytes are all present (trun sample counts and mdat size rewritten).
import { open, type FileHandle } from 'node:fs/promises';
import { readBox } from './box-reader.js';
import { boxHeader } from './box-writer.js';
import { childNode, nodeSize, parseBox, serializeNode, type BoxNode } from './box-tree.js';
import { classifyOpen } from './classify.js';
import { asMp4Error, LIMITS, Mp4FormatError } from './errors.js';
import { SequentialWriter } from './file-io.js';
import { summarizeTracks, trexDefaults, type RepairResult } from './moov-info.js';
import { parseTfhd, readTrun, serializeTfhd, truncateTrun, writeTrun, TFHD_DEFAULT_BASE_IS_MOOF, TRUN_DATA_OFFSET, type Tfhd, type TrexDefaults, type TrunTable } from './trun.js';

const NON_SYNC = 0x10000;

/**
 * The samples of one trun resolved to file offsets. Positions, sizes and sync flags are computed
 * from the trun's table on demand: a run whose samples all take the default size costs nothing
 * per sample, whatever its sample count; one with per-sample sizes at most an offset table.
 */
export class FragmentRun {
  readonly count: number;
  /** File offset of the first sample, and just past the last. */
  readonly first: number;
  readonly end: number;
  private offsets?: Float64Array;

  constructor(
    readonly node: BoxNode,
    readonly trun: TrunTable,
    first: number,
    /** Size of every sample when the trun carries no sizes (tfhd, else trex default). */
    private readonly fixedSize: number,
    /** Flags of the samples the trun gives none for (tfhd, else trex default, else 0). */
    private readonly defaultFlags: number,
  ) {
    this.count = trun.count;
    this.first = first;
    let bytes = 0;
    if (trun.sizes) for (let i = 0; i < trun.sizes.length; i++) bytes += trun.sizes[i]!;
    else bytes = trun.count * fixedSize;
    this.end = first + bytes;
  }

  sizeOf(i: number): number {
    return this.trun.sizes ? this.trun.sizes[i]! : this.fixedSize;
  }

  startOf(i: number): number {
    const sizes = this.trun.sizes;
    if (!sizes) return this.first + i * this.fixedSize;
    if (!this.offsets) {
      this.offsets = new Float64Array(this.count);
      let pos = this.first;
      for (let k = 0; k < this.count; k++) {
        this.offsets[k] = pos;
        pos += sizes[k]!;
      }
    }
    return this.offsets[i]!;
  }

  /** Offset just past the first n samples. */
  endOf(n: number): number {
    return n <= 0 ? this.first : n >= this.count ? this.end : this.startOf(n);
  }

  isSync(i: number): boolean {
    const flags = i === 0 && this.trun.firstSampleFlags !== undefined ? this.trun.firstSampleFlags : this.trun.sampleFlags ? this.trun.sampleFlags[i]! : this.defaultFlags;
    return (flags & NON_SYNC) === 0;
  }

  /** Sync samples among the first n. */
  syncCount(n: number): number {
    const m = Math.min(n, this.count);
    if (m <= 0) return 0;
    if (this.trun.sampleFlags) {
      let k = 0;
      for (let i = 0; i < m; i++) if (this.isSync(i)) k++;
      return k;
    }
    return (this.isSync(0) ? 1 : 0) + ((this.defaultFlags & NON_SYNC) === 0 ? m - 1 : 0);
  }

  /** Length of the longest prefix of samples whose bytes all lie in [from, to). */
  completeIn(from: number, to: number): number {
    if (this.count === 0 || this.first < from) return 0;
    const sizes = this.trun.sizes;
    if (!sizes) {
      if (this.fixedSize === 0) return this.first <= to ? this.count : 0;
      return Math.max(0, Math.min(this.count, Math.floor((to - this.first) / this.fixedSize)));
    }
    let n = 0;
    let pos = this.first;
    while (n < this.count && pos + sizes[n]! <= to) pos += sizes[n++]!;
    return n;
  }

  /** Every sample's offset, size and sync flag as plain arrays: for tests and small runs only. */
  get starts(): number[] {
    return Array.from({ length: this.count }, (_, i) => this.startOf(i));
  }
  get sizes(): number[] {
    return Array.from({ length: this.count }, (_, i) => this.sizeOf(i));
  }
  get sync(): boolean[] {
    return Array.from({ length: this.count }, (_, i) => this.isSync(i));
  }
}

export interface FragmentTrack {
  node: BoxNode;
  tfhd: Tfhd;
  runs: FragmentRun[];
}

/**
 * Resolves every sample of a moof to file offsets (tfhd base rules, trun data offsets, defaults).
 * `where` names the moof in error messages (e.g. "moof #3").
 */
export function describeFragment(moof: BoxNode, moofStart: number, trex: ReadonlyMap<number, TrexDefaults>, where = `moof at offset ${moofStart}`): FragmentTrack[] {
  const out: FragmentTrack[] = [];
  let prevTrafEnd = moofStart;
  let firstTraf = true;
  for (const traf of moof.children ?? []) {
    if (traf.type !== 'traf') continue;
    const tfhdNode = childNode(traf, 'tfhd');
    if (!tfhdNode?.payload) throw new Mp4FormatError(`traf in ${where} has no tfhd`);
    const tfhd = parseTfhd(tfhdNode.payload, `tfhd in ${where}`);
    const tx = trex.get(tfhd.trackId);
    const base = tfhd.baseDataOffset ?? (tfhd.flags & TFHD_DEFAULT_BASE_IS_MOOF || firstTraf ? moofStart : prevTrafEnd);
    const fixedSize = tfhd.defaultSampleSize ?? tx?.defaultSampleSize;
    const defaultFlags = tfhd.defaultSampleFlags ?? tx?.defaultSampleFlags ?? 0;
    const runs: FragmentRun[] = [];
    let pos = base;
    let firstRun = true;
    for (const node of traf.children ?? []) {
      if (node.type !== 'trun' || !node.payload) continue;
      const label = `trun in ${where} (track ${tfhd.trackId})`;
      const trun = readTrun(node.payload, label);
      if (!trun.sizes && fixedSize === undefined && trun.count > 0) throw new Mp4FormatError(`${label} gives no size for its ${trun.count} samples (no per-sample, tfhd or trex size)`);
      pos = trun.dataOffset !== undefined ? base + trun.dataOffset : firstRun ? base : pos;
      const run = new FragmentRun(node, trun, pos, fixedSize ?? 0, defaultFlags);
      runs.push(run);
      pos = run.end;
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
  } catch (e) {
    throw asMp4Error(e, `trim ${input}`);
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
  const moov = parseBox(await readBox(fh, moovBox, LIMITS.maxMoovBytes), moovBox.offset);
  const trex = trexDefaults(moov);
  const handlers = new Map(summarizeTracks(moov).map((t) => [t.trackId, t.handler]));
  const stats = { video: 0, keyframes: 0, audio: 0 };
  const count = (tracks: FragmentTrack[], keep?: Map<FragmentRun, number>) => {
    for (const t of tracks) {
      const h = handlers.get(t.tfhd.trackId);
      for (const r of t.runs) {
        const n = keep ? (keep.get(r) ?? 0) : r.count;
        if (h === 'vide') {
          stats.video += n;
          stats.keyframes += r.syncCount(n);
        } else if (h === 'soun') stats.audio += n;
      }
    }
  };

  // Complete boxes form a prefix of the file; find where it ends and the cut fragment, if any.
  let prefixEnd = 0;
  let cut: { moofIdx: number; label: string } | undefined;
  let moofs = 0;
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i]!;
    if (b.truncated) break;
    if (i > moovIdx && b.type === 'moof') {
      const next = boxes[i + 1];
      const label = `moof #${++moofs}`;
      if (next?.type === 'mdat' && !next.truncated) {
        count(describeFragment(parseBox(await readBox(fh, b, LIMITS.maxMoofBytes), b.offset), b.offset, trex, label));
        prefixEnd = next.offset + next.size;
        i++;
        continue;
      }
      cut = { moofIdx: i, label };
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
      const moofNode = parseBox(await readBox(fh, moofBox, LIMITS.maxMoofBytes), moofBox.offset);
      const rewritten = mdatBox?.type === 'mdat' ? planPartialFragment(moofNode, moofBox.offset, mdatBox, cls.scan.headerSizes[cut.moofIdx + 1]!, fileBytes, trex, out.position, cut.label) : undefined;
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
  where?: string,
): PartialPlan | undefined {
  const payloadStart = mdat.offset + mdatHeaderSize;
  const available = Math.min(fileBytes, mdat.offset + mdat.size);
  const tracks = describeFragment(moof, moofStart, trex, where);
  const keep = new Map<FragmentRun, number>();
  let keptSamples = 0;
  let totalSamples = 0;
  let keptEnd = payloadStart;
  const droppedTracks: number[] = [];
  const newChildren: BoxNode[] = [];
  const placed: Array<{ trun: TrunTable; node: BoxNode; run: FragmentRun; n: number; traf: FragmentTrack }> = [];

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
      totalSamples += run.count;
      if (stop) continue;
      const n = run.completeIn(payloadStart, available);
      if (n < run.count) stop = true;
      if (n > 0) {
        runs.push({ run, n });
        keep.set(run, n);
        trackKept += n;
        keptEnd = Math.max(keptEnd, run.endOf(n));
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
        const trun: TrunTable = { ...truncateTrun(r.run.trun, r.n), flags: r.run.trun.flags | TRUN_DATA_OFFSET, dataOffset: 0 };
        const node: BoxNode = { type: 'trun', payload: writeTrun(trun) };
        trafChildren.push(node);
        placed.push({ trun, node, run: r.run, n: r.n, traf: track });
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
    const off = map(p.run.first) - base;
    if (off < -0x80000000 || off > 0x7fffffff) throw new Mp4FormatError(`data offset ${off} does not fit a trun`);
    p.trun.dataOffset = off;
    p.node.payload = writeTrun(p.trun);
    trafEnd = map(p.run.first) + (p.run.endOf(p.n) - p.run.first);
  }
  const moofBuf = serializeNode(newMoof);
  if (moofBuf.length !== moofSize) throw new Error('internal: moof size changed while filling data offsets');
  return { moof: moofBuf, mdatHeader, payloadStart, payloadLength, tracks, keep, keptSamples, totalSamples, droppedTracks };
}
