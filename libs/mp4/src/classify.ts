// Classifies an MP4 file by its top-level box layout (a few small positioned reads, no media data read).
import { open, type FileHandle } from 'node:fs/promises';
import { scanChildrenInFile, scanTopLevel, type TopBox, type TopLevelScan } from './box-reader.js';
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
  const scan = await scanTopLevel(fh, fileBytes);
  const { boxes } = scan;
  const result = (kind: Mp4Kind, reason: string, fragments?: Mp4Classification['fragments']) => ({
    kind,
    reason,
    fileBytes,
    boxes,
    scan,
    ...(fragments ? { fragments } : {}),
  });

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

  let hasMvex = false;
  if (moov && moovComplete) {
    const kids = await scanChildrenInFile(fh, moov.offset + scan.headerSizes[moovIdx]!, moov.offset + moov.size);
    hasMvex = kids.some((k) => k.type === 'mvex');
  }

  // Fragmented: an initial moov with mvex, then moof+mdat pairs.
  if (hasMvex || hasMoof) {
    if (!moovComplete) {
      return result('no-moov', moov ? `Fragmented MP4 whose initial moov is cut (${cutText(moov)}): the fragments cannot be decoded without it.` : 'Fragments (moof) without an initial moov: the track layout is missing.');
    }
    let complete = 0;
    let partial = scan.junkAt !== undefined;
    let why = junk ? `the last complete box is${junk}` : '';
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
    if (partial) return result('fragmented-partial', `Fragmented MP4 with ${complete} complete fragment${complete === 1 ? '' : 's'}, but ${why}: the tail must be trimmed.`, fragments);
    return result('fragmented-clean', `Fragmented MP4 (moov with mvex) with ${complete} complete moof+mdat fragment${complete === 1 ? '' : 's'}; every box is within the file.`, fragments);
  }

  if (moovComplete && moov) {
    const mdat = mdatIdx >= 0 ? boxes[mdatIdx] : undefined;
    if (!mdat) return result('clean', `MP4 with a moov and no mdat (no sample data in this file)${junk}.`);
    if (moovIdx < mdatIdx) {
      if (truncatedBox) return result('no-moov', `The moov is at the front but the file is cut: ${cutText(truncatedBox)}, so the moov's sample tables point past the end of the file; treat it as having no usable moov and rebuild one from the mdat.`);
      return result('clean', `Complete MP4: ftyp, moov before mdat, every box within the file${junk}.`);
    }
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
