// Classifies an MP4 file by its top-level box layout (a few small positioned reads, no media data read),
// and checks what it would call playable: the moov's sample tables and every fragment's truns must be
// consistent with each other and with the file's mdat boxes (a file that fails is 'garbage', "Corrupt MP4").
import { open, type FileHandle } from 'node:fs/promises';
import { readBox, scanTopLevel, type TopBox, type TopLevelScan } from './box-reader.js';
import { parseBox } from './box-tree.js';
import { checkChunks, checkFragmentData, inspectFragment, inspectMoov, type MoovFacts, type RunExtent } from './consistency.js';
import { asMp4Error, isIoError, LIMITS, Mp4FormatError } from './errors.js';
import { readAt } from './file-io.js';

export type Mp4Kind = 'clean' | 'fragmented-clean' | 'fragmented-partial' | 'moov-at-end' | 'no-moov' | 'empty' | 'garbage';

export interface Mp4Classification {
  kind: Mp4Kind;
  /** A human sentence explaining the kind. */
  reason: string;
  fileBytes: number;
  boxes: TopBox[];
  /** fragmented files: number of complete moof+mdat pairs and whether the last one is cut */
  fragments?: { complete: number; partial: boolean };
}

/** Box types that may open an ISO BMFF / QuickTime file or appear at its top level. */
const TOP_LEVEL_TYPES: ReadonlySet<string> = new Set([
  'ftyp', 'styp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pdin', 'uuid', 'moof', 'mfra', 'sidx', 'ssix', 'meta', 'emsg', 'prft', 'pnot', 'junk',
]);

const PADDING = new Set(['free', 'skip', 'wide']);

export async function classifyMp4(path: string): Promise<Mp4Classification> {
  const fh = await open(path, 'r');
  try {
    const c = await classifyOpen(fh);
    return { kind: c.kind, reason: c.reason, fileBytes: c.fileBytes, boxes: c.boxes, ...(c.fragments ? { fragments: c.fragments } : {}) };
  } finally {
    await fh.close();
  }
}

/** Classification of an already open file (used by the repair functions too). */
export async function classifyOpen(fh: FileHandle): Promise<Mp4Classification & { scan: TopLevelScan }> {
  const fileBytes = (await fh.stat()).size;
  const content = new ContentCheck(fh);
  let scan: TopLevelScan;
  try {
    scan = await scanTopLevel(fh, fileBytes, content.visit);
  } catch (e) {
    if (!(e instanceof Mp4FormatError)) throw e;
    scan = { boxes: [], headerSizes: [], fileBytes };
    return { kind: 'garbage', reason: corrupt(e.message), fileBytes, boxes: scan.boxes, scan };
  }
  const { boxes } = scan;
  const result = (kind: Mp4Kind, reason: string, fragments?: Mp4Classification['fragments']) => ({
    kind,
    reason,
    fileBytes,
    boxes,
    scan,
    ...(fragments ? { fragments } : {}),
  });
  const mdatPayloads = () => boxes.flatMap((b, i) => (b.type === 'mdat' && !b.truncated ? [{ start: b.offset + scan.headerSizes[i]!, end: b.offset + b.size }] : []));
  /** The moov's tables against the file's mdats: the reason the file is corrupt, if it is. */
  const chunkProblem = (facts: MoovFacts): string | undefined => {
    try {
      checkChunks(facts, mdatPayloads());
      return undefined;
    } catch (e) {
      return problem(e);
    }
  };

  if (fileBytes === 0) return result('empty', 'The file is empty (0 bytes).');
  const first = boxes[0];
  if (!first) {
    if (fileBytes < 8 && isFtypPrefix(await readAt(fh, 0, fileBytes))) return result('empty', `The file holds only ${fileBytes} bytes, the start of an ftyp box: nothing was recorded.`);
    return result('garbage', `Not an ISO BMFF (MP4) file: the first bytes are not a box header (${scan.junkReason ?? 'unreadable'}).`);
  }
  if (!TOP_LEVEL_TYPES.has(first.type)) {
    return result('garbage', `Not an ISO BMFF (MP4) file: it starts with a '${printable(first.type)}' box, which is not an MP4 top-level box.`);
  }

  const idx = (t: string) => boxes.findIndex((b) => b.type === t);
  const moovIdx = idx('moov');
  const moov = moovIdx >= 0 ? boxes[moovIdx] : undefined;
  const moovComplete = moov !== undefined && !moov.truncated;
  const mdatIdx = idx('mdat');
  const hasMoof = idx('moof') >= 0;
  const junk = scan.junkAt !== undefined ? ` followed by ${fileBytes - scan.junkAt} bytes that are not boxes (from offset ${scan.junkAt})` : '';
  const truncatedBox = boxes.find((b) => b.truncated);
  const cutText = (b: TopBox) => `its '${b.type}' box at offset ${b.offset} declares ${b.size} bytes but the file ends after ${fileBytes - b.offset}`;

  let facts: MoovFacts | undefined;
  if (moov && moovComplete) {
    const m = await content.moov(boxes);
    if (m.error !== undefined) {
      // A plain file cut after its moov is rebuilt from the mdat anyway: its moov does not matter.
      const plainCut = !hasMoof && truncatedBox !== undefined && mdatIdx > moovIdx;
      if (!plainCut) return result('garbage', corrupt(m.error));
    }
    facts = m.facts;
  }
  const hasMvex = facts?.fragmented ?? false;

  // Fragmented: an initial moov with mvex, then moof+mdat pairs.
  if (hasMvex || hasMoof) {
    if (!moovComplete) {
      return result('no-moov', moov ? `Fragmented MP4 whose initial moov is cut (${cutText(moov)}): the fragments cannot be decoded without it.` : 'Fragments (moof) without an initial moov: the track layout is missing.');
    }
    let complete = 0;
    let partial = scan.junkAt !== undefined;
    let why = junk ? `the last complete box is${junk}` : '';
    let last = boxes.length - 1; // the last box that belongs to the fragments
    for (let i = moovIdx + 1; i < boxes.length; i++) {
      const b = boxes[i]!;
      if (b.type === 'moof') {
        const next = boxes[i + 1];
        if (!b.truncated && next?.type === 'mdat' && !next.truncated) {
          complete++;
          i++;
          continue;
        }
        partial = true;
        last = i;
        why = b.truncated
          ? `its last moof is cut (${cutText(b)})`
          : next
            ? next.truncated
              ? `the mdat of its last fragment is cut (${cutText(next)})`
              : `a moof is followed by '${next.type}' instead of its mdat`
            : scan.junkAt !== undefined
              ? `its last moof is followed by ${fileBytes - scan.junkAt} bytes, not a complete mdat header`
              : 'its last moof has no mdat after it';
        break;
      }
      if (b.truncated) {
        partial = true;
        why = cutText(b);
        break;
      }
    }
    const fragments = { complete, partial };
    if (complete === 0 && !partial && !boxes.some((b) => b.type === 'mdat')) {
      return result('empty', 'Fragmented MP4 with only its initial header (ftyp, moov with mvex) and no fragment: nothing was recorded.', fragments);
    }
    const bad = (facts && chunkProblem(facts)) ?? (await content.fragments(boxes, scan.headerSizes, last));
    if (bad !== undefined) return result('garbage', corrupt(bad));
    if (partial) return result('fragmented-partial', `Fragmented MP4 with ${complete} complete fragment${complete === 1 ? '' : 's'}, but ${why}: the tail must be trimmed.`, fragments);
    return result('fragmented-clean', `Fragmented MP4 (moov with mvex) with ${complete} complete moof+mdat fragment${complete === 1 ? '' : 's'}; every box is within the file.`, fragments);
  }

  if (moovComplete && moov) {
    const mdat = mdatIdx >= 0 ? boxes[mdatIdx] : undefined;
    if (mdat && moovIdx < mdatIdx && truncatedBox) {
      return result('no-moov', `The moov is at the front but the file is cut: ${cutText(truncatedBox)}, so the moov's sample tables point past the end of the file; treat it as having no usable moov and rebuild one from the mdat.`);
    }
    const bad = facts && chunkProblem(facts);
    if (bad !== undefined) return result('garbage', corrupt(bad));
    if (!mdat) return result('clean', `MP4 with a moov and no mdat (no sample data in this file)${junk}.`);
    if (moovIdx < mdatIdx) return result('clean', `Complete MP4: ftyp, moov before mdat, every box within the file${junk}.`);
    return result('moov-at-end', `Complete MP4 with the moov after the mdat (offset ${moov.offset} of ${fileBytes} bytes)${junk}: move the moov to the front for streaming.`);
  }

  if (mdatIdx >= 0) {
    const mdat = boxes[mdatIdx]!;
    const mdatText =
      scan.headerSizes[mdatIdx] === 8 && mdat.size === fileBytes - mdat.offset && !moov
        ? await describeOpenMdat(fh, mdat)
        : mdat.truncated
          ? `the mdat is cut (${cutText(mdat)})`
          : `the mdat (${mdat.size} bytes at offset ${mdat.offset}) is complete`;
    const moovText = moov ? `its moov is cut (${cutText(moov)})` : 'there is no moov';
    return result('no-moov', `MP4 with media data but no usable moov: ${mdatText} and ${moovText} — the writer was stopped before finishing the file.`);
  }

  const types = boxes.map((b) => b.type);
  if (types.every((t) => t === 'ftyp' || PADDING.has(t) || t === 'moov')) {
    return result('empty', moov ? `The file holds only header boxes (${types.join(', ')}) and its moov is cut: no media data was written.` : `The file holds only header boxes (${types.join(', ')}): no media data was written.`);
  }
  if (truncatedBox) return result('garbage', `No moov and no mdat; ${cutText(truncatedBox)}.`);
  return result('garbage', `MP4-like boxes (${types.slice(0, 6).join(', ')}) but no moov and no mdat${junk}.`);
}

const corrupt = (problem: string) => `Corrupt MP4: ${problem}.`;

/** The message of a content error; an I/O error is rethrown, anything unexpected is named as a parser bug. */
function problem(e: unknown): string {
  if (isIoError(e)) throw e;
  return asMp4Error(e, 'classify').message;
}

/**
 * The moov and fragment checks, fed by the top-level scan: a moov or moof that lies in the bytes the
 * scan already read is checked from them (no extra read); the others are read afterwards.
 */
class ContentCheck {
  private moovIdx?: number;
  private facts?: MoovFacts;
  private moovError?: string;
  private moofs = 0;
  /** The first fragment found corrupt (lowest box index) and why. */
  private fragError?: { index: number; message: string };
  /** Runs of checked moofs whose mdat has not been seen yet, by moof box index. */
  private readonly runs = new Map<number, RunExtent[]>();
  /** Moofs to read and check after the scan. */
  private readonly pending: Array<{ index: number; k: number }> = [];

  constructor(private readonly fh: FileHandle) {}

  readonly visit = (index: number, box: TopBox, headerSize: number, win: Buffer, at: number): void => {
    if (box.type === 'mdat') {
      const runs = this.runs.get(index - 1);
      if (runs) {
        this.runs.delete(index - 1);
        this.checkData(index - 1, runs, box.offset + headerSize, box.offset + box.size);
      }
      return;
    }
    if (box.truncated) return;
    if (box.type === 'moov') {
      if (this.moovIdx !== undefined) return;
      this.moovIdx = index;
      if (at >= 0) this.parseMoov(Buffer.from(win.subarray(at, at + box.size)), box.offset); // a copy: the facts keep views of it
      return;
    }
    if (box.type !== 'moof' || this.moovIdx === undefined || this.fragError) return;
    const k = ++this.moofs;
    if (at >= 0 && this.facts) this.checkMoof(index, k, box, win.subarray(at, at + box.size));
    else if (this.moovError === undefined) this.pending.push({ index, k });
  };

  /** The facts of the first complete moov (read now if the scan did not hold it), or why it is corrupt. */
  async moov(boxes: readonly TopBox[]): Promise<{ facts?: MoovFacts; error?: string }> {
    if (!this.facts && this.moovError === undefined && this.moovIdx !== undefined) {
      const b = boxes[this.moovIdx]!;
      try {
        this.parseMoov(await readBox(this.fh, b, LIMITS.maxMoovBytes), b.offset);
      } catch (e) {
        this.moovError = problem(e);
      }
    }
    return { ...(this.facts ? { facts: this.facts } : {}), ...(this.moovError !== undefined ? { error: this.moovError } : {}) };
  }

  /** Why the fragments up to box index `last` are corrupt, if they are. */
  async fragments(boxes: readonly TopBox[], headerSizes: readonly number[], last: number): Promise<string | undefined> {
    const m = await this.moov(boxes);
    if (!m.facts) return m.error;
    for (const p of this.pending) {
      if (p.index > last || (this.fragError && this.fragError.index < p.index)) break;
      const b = boxes[p.index]!;
      try {
        this.checkMoof(p.index, p.k, b, await readBox(this.fh, b, LIMITS.maxMoofBytes));
      } catch (e) {
        this.fail(p.index, problem(e));
      }
      const runs = this.runs.get(p.index);
      const mdat = boxes[p.index + 1];
      if (runs && mdat?.type === 'mdat') this.checkData(p.index, runs, mdat.offset + headerSizes[p.index + 1]!, mdat.offset + mdat.size);
      this.runs.delete(p.index);
    }
    return this.fragError && this.fragError.index <= last ? this.fragError.message : undefined;
  }

  private parseMoov(bytes: Buffer, offset: number): void {
    try {
      this.facts = inspectMoov(parseBox(bytes, offset));
    } catch (e) {
      this.moovError = problem(e);
    }
  }

  private checkMoof(index: number, k: number, box: TopBox, bytes: Buffer): void {
    try {
      if (box.size > LIMITS.maxMoofBytes) throw new Mp4FormatError(`moof #${k} at offset ${box.offset} is ${box.size} bytes, more than the ${LIMITS.maxMoofBytes} this parser reads`);
      this.runs.set(index, inspectFragment(bytes, box.offset, k, this.facts!));
    } catch (e) {
      this.fail(index, problem(e));
    }
  }

  private checkData(index: number, runs: RunExtent[], start: number, end: number): void {
    try {
      checkFragmentData(runs, start, end);
    } catch (e) {
      this.fail(index, problem(e));
    }
  }

  private fail(index: number, message: string): void {
    if (!this.fragError || index < this.fragError.index) this.fragError = { index, message };
  }
}

async function describeOpenMdat(fh: FileHandle, mdat: TopBox): Promise<string> {
  const head = await readAt(fh, mdat.offset, 4);
  if (head.length === 4 && head.readUInt32BE(0) === 0) return `the mdat at offset ${mdat.offset} declares size 0 (it runs to the end of the file: the writer never finalized it)`;
  return `the mdat at offset ${mdat.offset} ends exactly at the end of the file`;
}

function isFtypPrefix(b: Buffer): boolean {
  const ftyp = Buffer.from('ftyp', 'latin1');
  for (let i = 0; i < 2 && i < b.length; i++) if (b[i] !== 0) return false; // an ftyp is far smaller than 64 KiB
  for (let i = 4; i < b.length && i < 8; i++) if (b[i] !== ftyp[i - 4]) return false;
  return true;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}
