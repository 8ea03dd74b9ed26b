// What a target holds, per segment: a whole copy, or the live chunks of a segment that was still
// being recorded when it was sent. Built from listed names (copy-names.ts). Pure.
import type { ParsedCopyName } from '../targets/copy-names.js';

/** One live chunk as listed. */
export interface CopyChunk {
  /** Its name (object key / path relative to the directory replica). */
  name: string;
  /** Bytes [offset, end) of the segment file. */
  offset: number;
  end: number;
  /** Stored size (the sealed size when encrypted). */
  bytes: number;
}

/** How a listed copy is read: functions only, so that an entry printed or serialised shows no credentials or key. */
export interface CopyReader {
  /** The target, for messages: `s3://bucket/prefix (endpoint)` or the directory's path. */
  readonly where: string;
  /** The stored bytes of `name` as a stream (a whole copy). `expect`: what the target says about it (sha256 of plain copies). */
  stream(name: string): Promise<{ body: NodeJS.ReadableStream; sha256?: string | undefined }>;
  /** The stored bytes of `name` (a chunk). */
  buffer(name: string): Promise<Buffer>;
  /** Where `name` is, for messages (a URL without credentials, or an absolute path). */
  label(name: string): string;
  /** Opens sealed bytes (undefined for targets that do not encrypt): a Transform for streams, a function for buffers. */
  readonly crypto?: {
    openStream(context: string, what: string): NodeJS.ReadWriteStream;
    openBuffer(context: string, sealed: Buffer, what: string): Buffer;
  };
}

/** One segment's copy on a target. */
export interface CopyEntry {
  targetId: string;
  /** The real camera id. */
  cameraId: string;
  /** The segment's real file name (`<camera>-<stamp>Z.mp4`). */
  fileName: string;
  /** UTC start from the name, ms since epoch. */
  startMs: number;
  /** A whole segment, or the chunks of one still being recorded when sent (no whole copy of it). */
  kind: 'whole' | 'live';
  /** Stored bytes (sealed size when encrypted; all chunks for a live copy). */
  bytes: number;
  encrypted: boolean;
  /** The whole copy's name. */
  name?: string;
  /** A live copy's chunks, by offset. */
  chunks?: CopyChunk[];
  /** How to read it (see readCopy). */
  reader: CopyReader;
}

/** A listed name with its stored size and what copy-names made of it. */
export interface ListedCopy {
  name: string;
  bytes: number;
  parsed: ParsedCopyName;
}

/** Copies under camera names this installation does not know (hidden names of cameras not in the config). */
export interface UnknownCopies {
  /** The camera as named on the target (an alias). */
  nameCamera: string;
  copies: number;
  bytes: number;
}

/**
 * One entry per segment: its whole copy when there is one (chunks of it are then redundant and
 * ignored), else a live entry with its chunks sorted by offset. Names of cameras that cannot be
 * mapped back (hidden names, camera not in the list) are counted in `unknown`.
 */
export function groupCopies(targetId: string, reader: CopyReader, listed: readonly ListedCopy[]): { entries: CopyEntry[]; unknown: UnknownCopies[] } {
  const segments = new Map<string, { whole?: ListedCopy; chunks: ListedCopy[] }>();
  const unknown = new Map<string, { files: Set<string>; bytes: number }>();
  for (const l of listed) {
    const p = l.parsed;
    if (p.cameraId === undefined) {
      const u = unknown.get(p.nameCamera) ?? { files: new Set<string>(), bytes: 0 };
      u.files.add(p.fileName);
      u.bytes += l.bytes;
      unknown.set(p.nameCamera, u);
      continue;
    }
    const id = `${p.cameraId}/${p.fileName}`;
    let seg = segments.get(id);
    if (!seg) segments.set(id, (seg = { chunks: [] }));
    if (p.kind === 'whole') seg.whole = l;
    else seg.chunks.push(l);
  }
  const entries: CopyEntry[] = [];
  for (const seg of segments.values()) {
    const first = (seg.whole ?? seg.chunks[0])!.parsed;
    const base = { targetId, cameraId: first.cameraId!, fileName: first.fileName, startMs: first.startMs, encrypted: first.encrypted, reader };
    if (seg.whole) {
      entries.push({ ...base, kind: 'whole', bytes: seg.whole.bytes, name: seg.whole.name });
    } else {
      const chunks = seg.chunks
        .map((c) => ({ name: c.name, offset: c.parsed.offset!, end: c.parsed.end!, bytes: c.bytes }))
        .sort((a, b) => a.offset - b.offset || a.end - b.end);
      entries.push({ ...base, kind: 'live', bytes: chunks.reduce((n, c) => n + c.bytes, 0), chunks });
    }
  }
  entries.sort((a, b) => a.startMs - b.startMs || (a.cameraId < b.cameraId ? -1 : a.cameraId > b.cameraId ? 1 : 0));
  return { entries, unknown: [...unknown].map(([nameCamera, u]) => ({ nameCamera, copies: u.files.size, bytes: u.bytes })) };
}
