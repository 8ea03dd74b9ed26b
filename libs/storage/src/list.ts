import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cameraDir, parseSegmentFileName, type ParsedSegmentName } from './naming.js';

export interface SegmentFile extends ParsedSegmentName {
  path: string;
  bytes: number;
  mtimeMs: number;
}

/** All segment files of a camera on disk, oldest first (by name = UTC start). */
export async function listSegmentFiles(recordingsDir: string, cameraId: string): Promise<SegmentFile[]> {
  const root = cameraDir(recordingsDir, cameraId);
  let days: string[];
  try {
    days = (await readdir(root)).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
  } catch {
    return [];
  }
  const out: SegmentFile[] = [];
  for (const day of days) {
    let names: string[];
    try {
      names = await readdir(path.join(root, day));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const parsed = parseSegmentFileName(name);
      if (!parsed || parsed.cameraId !== cameraId) continue;
      const p = path.join(root, day, name);
      try {
        const st = await stat(p);
        out.push({ ...parsed, path: p, bytes: st.size, mtimeMs: st.mtimeMs });
      } catch {
        /* deleted meanwhile */
      }
    }
  }
  return out;
}
