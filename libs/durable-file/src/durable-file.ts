import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { removeFilesOlderThan } from '@tapo/storage';

/** The `code` of a Node.js system error, if any. */
function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/** sha256 (hex) and size of a file, streamed; `firstBytes`: of its first bytes only (at most that many are read). */
export async function sha256File(file: string, opts: { firstBytes?: number } = {}): Promise<FileDigest> {
  const h = createHash('sha256');
  let bytes = 0;
  const limit = opts.firstBytes;
  if (limit === 0) return { sha256: h.digest('hex'), bytes };
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024, ...(limit !== undefined ? { start: 0, end: limit - 1 } : {}) })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** Marker inside the name of every temporary file (they also start with "." so that no lister takes them for segments). */
export const PARTIAL_MARK = '.partial-';

/** `<dir>/.<name>.partial-<random>`: never parses as a segment name. */
export function partialPathFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}${PARTIAL_MARK}${randomBytes(6).toString('hex')}`);
}

export function isPartialName(name: string): boolean {
  return name.startsWith('.') && name.includes(PARTIAL_MARK);
}

/** fsync a folder so that a rename / link in it is durable. Filesystems that cannot (some network shares) are ignored. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = errorCode(e);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF' && code !== 'EACCES') throw e;
  } finally {
    await fh?.close().catch(() => {});
  }
}

export async function unlinkQuiet(file: string): Promise<void> {
  await unlink(file).catch(() => {});
}

/** A regular file's size; -1 when something else (a folder, a symlink) is at `file`; undefined when nothing is. */
export async function regularFileSize(file: string): Promise<number | undefined> {
  try {
    const st = await lstat(file);
    return st.isFile() ? st.size : -1;
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Moves `temp` to `final` unless `final` exists: `link` (atomic "create if
 * absent", also across processes) then unlink the temp; on filesystems without
 * hard links (FAT, some shares) an existence check + rename (callers
 * serialise it per path in this process, see KeyedMutex). Returns false when `final` already existed
 * (temp is left for the caller to compare and delete).
 */
export async function placeNoClobber(temp: string, final: string): Promise<boolean> {
  try {
    await link(temp, final);
    await unlinkQuiet(temp);
    return true;
  } catch (e) {
    const code = errorCode(e);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV' && code !== 'EMLINK') throw e;
  }
  if ((await regularFileSize(final)) !== undefined) return false;
  await rename(temp, final);
  return true;
}

/** Runs `fn` with a lock on `key`, one at a time per key (this process). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Deletes temp files (`.<name>.partial-*`) older than `olderThanMs` in one folder (left by a crash). Returns how many. */
export function removeStalePartials(dir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  return removeFilesOlderThan(dir, olderThanMs, isPartialName, now);
}
