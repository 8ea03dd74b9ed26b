// Names of the copies a target holds (object keys below an S3 prefix, paths below a directory
// replica), plain or encrypted, whole segments and live chunks. One place, so that the targets
// that write them and `recorder restore` / `recorder replicas` that read them agree.
import type { ReplicaKey } from '@tapo/replica-crypto';
import { dayFolderName, parseSegmentFileName } from '@tapo/storage';

/** What decides a copy's name. */
export interface CopyNaming {
  /** S3: the key prefix (ends with "/"); directory: "" (names are relative to its path). */
  prefix: string;
  /** Set when the target encrypts: copies end in ENCRYPTED_SUFFIX. */
  key?: ReplicaKey;
  /** With a key: camera ids replaced by key.cameraAlias(id) in every name. */
  hideNames?: boolean;
}

/** Appended to the name of an encrypted copy (whole segment). */
export const ENCRYPTED_SUFFIX = '.tenc';
/** A live (unfinished) segment's chunks are `<copy name>.live/<offset>-<end>`. */
export const LIVE_SUFFIX = '.live/';
const OFFSET_DIGITS = 12;

const CAMERA_DIR = /^[a-z0-9_-]{1,64}$/;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const CHUNK = /^(\d{12})-(\d{12})$/;

/** The camera as it appears in names. */
export function nameCamera(naming: CopyNaming, cameraId: string): string {
  return naming.key && naming.hideNames ? naming.key.cameraAlias(cameraId) : cameraId;
}

/**
 * `<prefix><camera>/<day>/<camera>-<stamp>Z.mp4` (plain) or, encrypted,
 * `<prefix><camera or alias>/<day>/<camera or alias>-<stamp>Z.mp4.tenc`.
 */
export function copyName(naming: CopyNaming, cameraId: string, fileName: string): string {
  const parsed = parseSegmentFileName(fileName);
  if (!parsed || parsed.cameraId !== cameraId || !CAMERA_DIR.test(cameraId)) throw new Error(`"${fileName}" is not a segment name of camera "${cameraId}"`);
  const cam = nameCamera(naming, cameraId);
  const name = cam + fileName.slice(cameraId.length);
  return `${naming.prefix}${cam}/${dayFolderName(parsed.start)}/${name}${naming.key ? ENCRYPTED_SUFFIX : ''}`;
}

/** Where a segment's live chunks are: every chunk name starts with this. */
export function liveChunkPrefix(naming: CopyNaming, cameraId: string, fileName: string): string {
  return copyName(naming, cameraId, fileName) + LIVE_SUFFIX;
}

/** One live chunk: bytes [offset, end) of the segment file (encrypted on its own when the target encrypts). */
export function liveChunkName(naming: CopyNaming, cameraId: string, fileName: string, offset: number, end: number): string {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(end) || offset < 0 || end <= offset || end >= 10 ** OFFSET_DIGITS) throw new Error(`bad live chunk range ${offset}-${end}`);
  return `${liveChunkPrefix(naming, cameraId, fileName)}${String(offset).padStart(OFFSET_DIGITS, '0')}-${String(end).padStart(OFFSET_DIGITS, '0')}`;
}

/**
 * What the encryption binds a copy to (the AAD context): the real camera and file name, and for a
 * chunk its offset. An object moved to another name, or a chunk to another place, does not open.
 */
export function sealContext(cameraId: string, fileName: string, offset?: number): string {
  return offset === undefined ? `segment\0${cameraId}/${fileName}` : `chunk\0${cameraId}/${fileName}@${offset}`;
}

/** A name found by listing a target, when it is one of ours. */
export interface ParsedCopyName {
  /** The real camera id: for hidden names only when `cameras` held it. */
  cameraId: string | undefined;
  /** The camera as it appears in the name (the alias for hidden names). */
  nameCamera: string;
  /** The segment's real file name (`<camera>-<stamp>Z.mp4`) when cameraId is known, else the name's. */
  fileName: string;
  startMs: number;
  encrypted: boolean;
  /** A whole segment, or one live chunk of it. */
  kind: 'whole' | 'chunk';
  offset?: number;
  end?: number;
}

/**
 * Parses a listed name (relative to the bucket, or to the directory replica's path). Names not
 * made by copyName / liveChunkName under this naming (other data sharing the bucket, plain copies
 * when the target now encrypts and vice versa) are undefined. `cameras`: the ids whose aliases
 * are recognised for hidden names.
 */
export function parseCopyName(naming: CopyNaming, name: string, cameras: readonly string[] = []): ParsedCopyName | undefined {
  if (!name.startsWith(naming.prefix)) return undefined;
  let rest = name.slice(naming.prefix.length);
  let kind: 'whole' | 'chunk' = 'whole';
  let offset: number | undefined;
  let end: number | undefined;
  const liveAt = rest.indexOf(LIVE_SUFFIX);
  if (liveAt >= 0) {
    const m = CHUNK.exec(rest.slice(liveAt + LIVE_SUFFIX.length));
    if (!m) return undefined;
    offset = Number(m[1]);
    end = Number(m[2]);
    if (end <= offset) return undefined;
    kind = 'chunk';
    rest = rest.slice(0, liveAt);
  }
  const encrypted = naming.key !== undefined;
  if (encrypted) {
    if (!rest.endsWith(ENCRYPTED_SUFFIX)) return undefined;
    rest = rest.slice(0, -ENCRYPTED_SUFFIX.length);
  } else if (rest.endsWith(ENCRYPTED_SUFFIX)) return undefined;
  const parts = rest.split('/');
  if (parts.length !== 3) return undefined;
  const [cam, day, base] = parts as [string, string, string];
  if (!CAMERA_DIR.test(cam) || !DAY_DIR.test(day)) return undefined;
  const parsed = parseSegmentFileName(base);
  if (!parsed || parsed.cameraId !== cam || dayFolderName(parsed.start) !== day) return undefined;
  let cameraId: string | undefined = cam;
  let fileName = base;
  if (naming.key && naming.hideNames) {
    cameraId = cameras.find((c) => naming.key!.cameraAlias(c) === cam);
    if (cameraId) fileName = cameraId + base.slice(cam.length);
  }
  return { cameraId, nameCamera: cam, fileName, startMs: parsed.start.getTime(), encrypted, kind, offset, end };
}
