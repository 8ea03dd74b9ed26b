import { lstat, readdir, realpath, rmdir, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { dayFolderName, resolveInside } from '@tapo/storage';
import type { PlannedDeletion } from './plan.js';

export interface ExecuteOptions {
  recordingsDir: string;
  /** Called with the files actually gone (deleted or already missing), per camera, to update the index. */
  forget?(cameraId: string, files: string[]): Promise<void>;
  /** Files modified this recently are never deleted (a segment still being written). Default 10 s. */
  minAgeMs?: number;
  now?: number;
}

export interface ExecuteResult {
  deleted: number;
  bytes: number;
  skipped: Array<{ file: string; why: string }>;
  removedFolders: string[];
}

/** Deletions in flight at once. */
const PARALLEL_DELETIONS = 8;

/**
 * Deletes planned segments safely: only regular files strictly inside
 * recordingsDir (real paths: a symlinked folder pointing elsewhere is refused,
 * and a symlink is never followed), never a file written in the last seconds.
 * Then removes day folders left empty (not today's or tomorrow's).
 */
export async function executePrune(plan: PlannedDeletion[], opts: ExecuteOptions): Promise<ExecuteResult> {
  const now = opts.now ?? Date.now();
  const minAge = opts.minAgeMs ?? 10_000;
  const result: ExecuteResult = { deleted: 0, bytes: 0, skipped: [], removedFolders: [] };
  // Nothing to do (e.g. a fresh install whose recordings folder does not exist yet).
  if (plan.length === 0) return result;
  const rootReal = await realpath(opts.recordingsDir);
  const gone = new Map<string, string[]>();
  const touchedDirs = new Set<string>();
  const markGone = (cam: string, file: string) => {
    const list = gone.get(cam);
    if (list) list.push(file);
    else gone.set(cam, [file]);
  };
  // Real path of each day folder, resolved once.
  const realDirs = new Map<string, Promise<string | undefined>>();
  const realDir = (dir: string) => {
    let p = realDirs.get(dir);
    if (!p) {
      p = realpath(dir).catch(() => undefined);
      realDirs.set(dir, p);
    }
    return p;
  };

  const one = async (d: PlannedDeletion): Promise<void> => {
    const abs = resolveInside(opts.recordingsDir, d.file);
    if (!abs || !d.file.startsWith(`${d.cameraId}/`)) {
      result.skipped.push({ file: d.file, why: 'outside recordingsDir' });
      return;
    }
    const dirReal = await realDir(path.dirname(abs));
    if (!dirReal) {
      markGone(d.cameraId, d.file); // folder gone: the file is gone
      return;
    }
    if (!dirReal.startsWith(rootReal + path.sep)) {
      result.skipped.push({ file: d.file, why: `its folder resolves outside recordingsDir (${dirReal})` });
      return;
    }
    const target = path.join(dirReal, path.basename(abs));
    try {
      const st = await lstat(target);
      if (!st.isFile()) {
        result.skipped.push({ file: d.file, why: st.isSymbolicLink() ? 'is a symlink' : 'not a regular file' });
        return;
      }
      if (now - st.mtimeMs < minAge) {
        result.skipped.push({ file: d.file, why: 'written in the last seconds (live segment?)' });
        return;
      }
      await unlink(target);
      result.deleted++;
      result.bytes += st.size;
      markGone(d.cameraId, d.file);
      touchedDirs.add(path.dirname(target));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') markGone(d.cameraId, d.file);
      else result.skipped.push({ file: d.file, why: (e as Error).message });
    }
  };
  // A few deletions at a time: the filesystem calls overlap in libuv's thread pool.
  for (let i = 0; i < plan.length; i += PARALLEL_DELETIONS) {
    await Promise.all(plan.slice(i, i + PARALLEL_DELETIONS).map(one));
  }
  for (const [cam, files] of gone) await opts.forget?.(cam, files);

  const keepDays = new Set([dayFolderName(new Date(now)), dayFolderName(new Date(now + 86_400_000))]);
  for (const dir of touchedDirs) {
    if (keepDays.has(path.basename(dir))) continue;
    try {
      if ((await readdir(dir)).length === 0) {
        await rmdir(dir);
        result.removedFolders.push(path.relative(rootReal, dir));
      }
    } catch {
      /* not empty any more, or gone */
    }
  }
  return result;
}

/** Total and available bytes of the filesystem holding `dir`. */
export async function diskUsage(dir: string): Promise<{ totalBytes: number; freeBytes: number }> {
  const s = await statfs(dir);
  return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
}
