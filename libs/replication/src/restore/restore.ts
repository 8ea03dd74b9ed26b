// Restoring copies into a folder: each segment downloaded (decrypted, chunks joined) into a temp
// file beside its place <out>/<camera>/<day>/<file>, checked (the caller's verify, which may give
// a repaired file instead), then linked into place: never over an existing file (an identical
// one: skipped; a different one: failed, left as it is).
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncDir, partialPathFor, placeNoClobber, regularFileSize, sha256File } from '@tapo/durable-file';
import { dayFolderName, resolveInside } from '@tapo/storage';
import { messageOf } from '../errors.js';
import type { CopyEntry } from './copies.js';
import { describeReadError, readCopy } from './list.js';

/** What the caller's check made of a downloaded file. */
export type RestoreCheck =
  /** It plays: place `file` (the downloaded file itself, or a repaired one beside it). */
  | { ok: true; file: string; detail: string }
  | { ok: false; detail: string };

export interface RestoreResult {
  entry: CopyEntry;
  status: 'restored' | 'skipped' | 'failed';
  /** Where the segment is (or would have gone). */
  path: string;
  /** Bytes of the restored file (restored / skipped). */
  bytes: number;
  /** One line: how it verified, or why it failed / was skipped. */
  detail: string;
  /** Warnings that do not fail it (a live copy that stops at a hole). */
  notes: string[];
}

export interface RestoreOptions {
  /** Segments go to <outDir>/<camera>/<day>/<file>. */
  outDir: string;
  /** Whether the downloaded file plays; may trim / repair it into another temp file beside it. */
  check(file: string, entry: CopyEntry): Promise<RestoreCheck>;
  onResult?(r: RestoreResult): void;
}

/** Where a restored segment goes. */
export function restorePath(outDir: string, entry: Pick<CopyEntry, 'cameraId' | 'fileName' | 'startMs'>): string | undefined {
  return resolveInside(outDir, path.join(entry.cameraId, dayFolderName(new Date(entry.startMs)), entry.fileName));
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256File(a), sha256File(b)]);
  return x.bytes === y.bytes && x.sha256 === y.sha256;
}

/** Restores one copy (see the file comment). Never throws: failures are results. */
export async function restoreCopy(entry: CopyEntry, opts: RestoreOptions): Promise<RestoreResult> {
  const dest = restorePath(opts.outDir, entry) ?? path.join(opts.outDir, entry.fileName);
  const notes: string[] = [];
  const result = (status: RestoreResult['status'], detail: string, bytes = 0): RestoreResult => ({ entry, status, path: dest, bytes, detail, notes });
  if (!restorePath(opts.outDir, entry)) return result('failed', `"${entry.fileName}" would leave ${opts.outDir}`);
  const temps = new Set<string>();
  try {
    const existing = await regularFileSize(dest);
    if (existing === -1) return result('failed', `${dest} exists and is not a regular file (left as it is)`);
    await mkdir(path.dirname(dest), { recursive: true });
    const temp = partialPathFor(dest);
    temps.add(temp);
    try {
      const read = await readCopy(entry);
      if (read.join) {
        const j = read.join;
        if (j.bytes === 0) {
          read.stream.destroy();
          return result('failed', j.hole ? `no live chunk starts at byte 0 (the first starts at ${j.hole.to}): nothing to restore` : 'no live chunks');
        }
        if (j.hole) notes.push(`live chunks stop at byte ${j.hole.from} (missing up to ${j.hole.to}, ${j.beyondHole.length} chunk(s) after the gap not used): restored the first ${j.bytes} bytes`);
      }
      await pipeline(read.stream, createWriteStream(temp, { flags: 'wx' }));
      notes.push(...read.notes);
    } catch (e) {
      return result('failed', describeReadError(entry, e));
    }
    const fh = await open(temp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }

    let checked: RestoreCheck;
    try {
      checked = await opts.check(temp, entry);
    } catch (e) {
      checked = { ok: false, detail: messageOf(e).split('\n')[0]! };
    }
    if (!checked.ok) return result('failed', `does not play: ${checked.detail}`);
    const file = checked.file;
    temps.add(file);
    const bytes = (await regularFileSize(file)) ?? 0;

    const already = async (): Promise<RestoreResult> =>
      (await sameFile(file, dest)) ? result('skipped', `the same file is already at ${dest}`, bytes) : result('failed', `a different file is already at ${dest} (not overwritten)`);
    if (existing !== undefined) return await already();
    if (!(await placeNoClobber(file, dest))) return await already();
    temps.delete(file);
    await fsyncDir(path.dirname(dest));
    return result('restored', checked.detail, bytes);
  } catch (e) {
    return result('failed', messageOf(e).split('\n')[0]!);
  } finally {
    for (const t of temps) await rm(t, { force: true }).catch(() => {});
  }
}

/** Restores copies one after another (oldest first as given); one result per copy. */
export async function restoreCopies(entries: readonly CopyEntry[], opts: RestoreOptions): Promise<RestoreResult[]> {
  const results: RestoreResult[] = [];
  for (const entry of entries) {
    const r = await restoreCopy(entry, opts);
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}
