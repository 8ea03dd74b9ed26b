import { lstat, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Deletes the regular files directly in `dir` (symlinks and folders are left
 * alone) whose name `accept`s and whose mtime is older than `olderThanMs`.
 * A missing folder counts as empty. Returns how many were deleted.
 */
export async function removeFilesOlderThan(
  dir: string,
  olderThanMs: number,
  accept: (name: string) => boolean = () => true,
  now = Date.now(),
): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (!accept(name)) continue;
    const p = path.join(dir, name);
    try {
      const st = await lstat(p);
      if (st.isFile() && now - st.mtimeMs > olderThanMs) {
        await unlink(p);
        n++;
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return n;
}
