import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { replicaKeyText, type DirectoryReplica } from '@tapo/config';
import {
  fsyncDir,
  isPartialName,
  partialPathFor,
  placeNoClobber,
  regularFileSize,
  removeStalePartials,
  sha256File,
  unlinkQuiet,
  type FileDigest,
} from '@tapo/durable-file';
import { planPrune, type PruneCandidate } from '@tapo/retention';
import { dayFolderName, parseSegmentFileName, resolveInside } from '@tapo/storage';
import { ReplicationRejectedError, asSourceError, TargetDownError, errorCode, messageOf } from '../errors.js';
import type { CopyNaming } from './copy-names.js';
import type { PruneSummary, PutResult, ReplicaSegment, TargetType } from './target.js';

/** The local file, as copyToDirectoryTarget needs it. */
export type LocalSegment = Pick<ReplicaSegment, 'absPath' | 'cameraId' | 'fileName'>;

const CAMERA_DIR = /^[a-z0-9_-]{1,64}$/;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const CHUNK = 1024 * 1024;

/** `<target>/<camera>/<day>/<name>`, built from the naming contract and kept inside the target. */
export function directoryTargetPath(targetPath: string, cameraId: string, fileName: string): string {
  const parsed = parseSegmentFileName(fileName);
  if (!parsed || parsed.cameraId !== cameraId) throw new Error(`"${fileName}" is not a segment name of camera "${cameraId}"`);
  const abs = resolveInside(targetPath, path.join(cameraId, dayFolderName(parsed.start), fileName));
  if (!abs) throw new Error(`"${fileName}" would leave the target folder`);
  return abs;
}

function down(target: DirectoryReplica, what: string, e: unknown): TargetDownError {
  return new TargetDownError(`replica "${target.id}" (directory ${target.path}): ${what}: ${messageOf(e)}`, target.id, { cause: e });
}

async function readChunk(fh: FileHandle, buf: Buffer): Promise<number> {
  const { bytesRead } = await fh.read(buf, 0, buf.length, null);
  return bytesRead;
}

/**
 * Copies one segment to a directory target (a mounted NAS / USB disk):
 * streamed into `.<name>.partial-<random>` next to the destination while
 * hashing, fsync, read back and compared (size + sha256) with what was read
 * from the source, then linked / renamed into place (never over an existing
 * file) and the folder fsync'd. Idempotent: the same file already there →
 * 'already'; a different file under that name → ReplicationRejectedError.
 *
 * Errors on the target side (not mounted, read-only, full, I/O) are
 * TargetDownError; a missing source is SourceGoneError. The target folder
 * itself must exist (it is never created: an unmounted mount point must not
 * fill the local disk); everything below it is created as needed.
 */
export async function copyToDirectoryTarget(target: DirectoryReplica, src: LocalSegment, opts: { verify?: boolean } = {}): Promise<PutResult> {
  const dest = directoryTargetPath(target.path, src.cameraId, src.fileName);
  try {
    const st = await stat(target.path);
    if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw down(target, errorCode(e) === 'ENOENT' ? 'the target folder does not exist (not mounted?)' : 'cannot use the target folder', e);
  }

  let source: FileHandle;
  try {
    source = await open(src.absPath, 'r');
  } catch (e) {
    throw asSourceError(e, src.absPath);
  }
  let temp: string | undefined;
  try {
    const srcSize = (await source.stat()).size;

    // Already there?
    let existing: number | undefined;
    try {
      existing = await regularFileSize(dest);
    } catch (e) {
      throw down(target, `cannot stat ${dest}`, e);
    }
    if (existing !== undefined) return await compareExisting(target, src, dest, existing, srcSize);

    try {
      await mkdir(path.dirname(dest), { recursive: true });
    } catch (e) {
      throw down(target, `cannot create ${path.dirname(dest)}`, e);
    }
    temp = partialPathFor(dest);
    let out: FileHandle;
    try {
      out = await open(temp, 'wx');
    } catch (e) {
      // A concurrent prune may have removed the (empty) day folder just now.
      if (errorCode(e) !== 'ENOENT') throw down(target, `cannot create ${temp}`, e);
      try {
        await mkdir(path.dirname(dest), { recursive: true });
        out = await open(temp, 'wx');
      } catch (e2) {
        throw down(target, `cannot create ${temp}`, e2);
      }
    }

    const h = createHash('sha256');
    let copied = 0;
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const n = await readChunk(source, buf);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        try {
          let off = 0;
          while (off < n) off += (await out.write(buf, off, n - off)).bytesWritten;
        } catch (e) {
          throw down(target, `cannot write ${temp}`, e);
        }
        copied += n;
      }
      try {
        await out.sync();
      } catch (e) {
        throw down(target, `cannot fsync ${temp}`, e);
      }
    } finally {
      await out.close().catch(() => {});
    }
    const sha256 = h.digest('hex');
    const srcAfter = (await source.stat()).size;
    if (copied !== srcSize || srcAfter !== srcSize) {
      throw new Error(`${src.absPath} changed while it was copied (${srcSize} → ${srcAfter} bytes, copied ${copied})`);
    }

    if (opts.verify !== false) {
      let back: FileDigest;
      try {
        back = await sha256File(temp);
      } catch (e) {
        throw down(target, `cannot read back ${temp}`, e);
      }
      if (back.bytes !== copied || back.sha256 !== sha256) {
        throw down(target, 'verify', new Error(`the copy reads back as ${back.bytes} bytes sha256 ${back.sha256.slice(0, 12)}…, expected ${copied} bytes sha256 ${sha256.slice(0, 12)}…`));
      }
    }

    let placed: boolean;
    try {
      placed = await placeNoClobber(temp, dest);
    } catch (e) {
      throw down(target, `cannot move the copy into place at ${dest}`, e);
    }
    if (!placed) {
      // Someone else (another worker) placed it meanwhile.
      return await compareExisting(target, src, dest, (await regularFileSize(dest)) ?? -1, srcSize, { sha256, bytes: copied });
    }
    temp = undefined;
    try {
      await fsyncDir(path.dirname(dest));
    } catch (e) {
      throw down(target, `cannot fsync ${path.dirname(dest)}`, e);
    }
    return { outcome: 'copied', sha256, bytes: copied, to: dest };
  } finally {
    await source.close().catch(() => {});
    if (temp) await unlinkQuiet(temp);
  }
}

async function compareExisting(
  target: DirectoryReplica,
  src: LocalSegment,
  dest: string,
  destSize: number,
  srcSize: number,
  srcDigest?: FileDigest,
): Promise<PutResult> {
  const conflict = (why: string) =>
    new ReplicationRejectedError(
      `replica "${target.id}" (directory ${target.path}): a different file already exists at ${dest} (${why}); it is not overwritten`,
      target.id,
    );
  if (destSize < 0) throw conflict('not a regular file');
  if (destSize !== srcSize) throw conflict(`${destSize} bytes there, ${srcSize} here`);
  const mine = srcDigest ?? (await sha256File(src.absPath));
  let theirs: FileDigest;
  try {
    theirs = await sha256File(dest);
  } catch (e) {
    throw down(target, `cannot read ${dest}`, e);
  }
  if (theirs.sha256 !== mine.sha256) throw conflict('same size, different sha256');
  return { outcome: 'already', sha256: mine.sha256, bytes: mine.bytes, to: dest };
}

export interface TargetSegment extends PruneCandidate {
  /** Absolute path. */
  path: string;
}

/**
 * Segment files on a directory target, oldest first. Only real folders and
 * regular files named by the contract count (symlinks are skipped, so nothing
 * outside the target is ever listed). Temp files older than `stalePartialMs`
 * (left by a crash) are deleted on the way.
 */
export async function listTargetSegments(root: string, opts: { stalePartialMs?: number; now?: number } = {}): Promise<{ segments: TargetSegment[]; dayDirs: string[]; stalePartialsRemoved: number }> {
  const segments: TargetSegment[] = [];
  const dayDirs: string[] = [];
  let stalePartialsRemoved = 0;
  const dirs = async (p: string, re: RegExp) => {
    try {
      return (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory() && re.test(d.name)).map((d) => d.name).sort();
    } catch {
      return [];
    }
  };
  for (const cam of await dirs(root, CAMERA_DIR)) {
    for (const day of await dirs(path.join(root, cam), DAY_DIR)) {
      const dayDir = path.join(root, cam, day);
      dayDirs.push(dayDir);
      let entries;
      try {
        entries = await readdir(dayDir, { withFileTypes: true });
      } catch {
        continue;
      }
      if (opts.stalePartialMs !== undefined && entries.some((d) => isPartialName(d.name))) {
        stalePartialsRemoved += await removeStalePartials(dayDir, opts.stalePartialMs, opts.now);
      }
      for (const d of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (!d.isFile()) continue;
        const parsed = parseSegmentFileName(d.name);
        if (!parsed || parsed.cameraId !== cam || dayFolderName(parsed.start) !== day) continue;
        const p = path.join(dayDir, d.name);
        try {
          const st = await stat(p);
          segments.push({ cameraId: cam, file: `${cam}/${day}/${d.name}`, path: p, startMs: parsed.start.getTime(), durationMs: 0, bytes: st.size });
        } catch {
          /* deleted meanwhile */
        }
      }
    }
  }
  segments.sort((a, b) => a.startMs - b.startMs);
  return { segments, dayDirs, stalePartialsRemoved };
}

export interface DirectoryPruneSummary extends PruneSummary {
  keptCount: number;
  keptBytes: number;
  removedDirs: number;
  stalePartialsRemoved: number;
}

/**
 * Which copies a directory target's ring buffer deletes: the target's
 * retention over everything on the target (all cameras together: maxBytes is
 * the space the copies may take), oldest first. The target has no index, so
 * a copy's age counts from its start (the name). Pure.
 */
export function planDirectoryPrune(target: Pick<DirectoryReplica, 'retention'>, segments: TargetSegment[], now: number): TargetSegment[] {
  if (target.retention.maxAgeSeconds === undefined && target.retention.maxBytes === undefined) return [];
  const plan = planPrune({ now, cameras: [{ cameraId: '*', limits: target.retention, segments }] });
  const doomed = new Set(plan.delete.map((d) => d.file));
  return segments.filter((s) => doomed.has(s.file));
}

/**
 * The directory target's own ring buffer (no Redis there: it works from the
 * files). Deletes oldest first until maxAge / maxBytes hold, never outside the
 * target folder, then removes emptied day folders and stale temp files.
 */
export async function pruneDirectoryTarget(target: DirectoryReplica, opts: { now?: number; stalePartialMs?: number } = {}): Promise<DirectoryPruneSummary> {
  const now = opts.now ?? Date.now();
  const { segments, dayDirs, stalePartialsRemoved } = await listTargetSegments(target.path, { stalePartialMs: opts.stalePartialMs ?? 3600_000, now });
  const doomed = planDirectoryPrune(target, segments, now);
  const summary: DirectoryPruneSummary = { deleted: 0, bytes: 0, keptCount: 0, keptBytes: 0, removedDirs: 0, stalePartialsRemoved, errors: [] };
  const gone = new Set<string>();
  for (const s of doomed) {
    const abs = resolveInside(target.path, s.file);
    if (!abs || abs !== s.path) {
      summary.errors.push(`${s.file}: outside the target, not deleted`);
      continue;
    }
    try {
      await unlink(abs);
      summary.deleted++;
      summary.bytes += s.bytes;
      gone.add(s.file);
    } catch (e) {
      if (errorCode(e) === 'ENOENT') gone.add(s.file);
      else summary.errors.push(`${s.file}: ${messageOf(e)}`);
    }
  }
  for (const s of segments) {
    if (gone.has(s.file)) continue;
    summary.keptCount++;
    summary.keptBytes += s.bytes;
  }
  // Emptied day folders (only those that held a deleted copy), then emptied camera folders.
  const touched = new Set([...gone].map((f) => path.join(target.path, path.dirname(f))));
  for (const dir of dayDirs.filter((d) => touched.has(d))) {
    try {
      await rmdir(dir);
      summary.removedDirs++;
      await rmdir(path.dirname(dir)).catch(() => {});
    } catch {
      /* not empty */
    }
  }
  return summary;
}

/**
 * True when the same file (size, sha256) is already at its place on the
 * target; a different file there is a ReplicationRejectedError.
 */
export async function directoryTargetHas(target: DirectoryReplica, seg: ReplicaSegment): Promise<boolean> {
  const dest = directoryTargetPath(target.path, seg.cameraId, seg.fileName);
  let size: number | undefined;
  try {
    size = await regularFileSize(dest);
  } catch (e) {
    throw down(target, `cannot stat ${dest}`, e);
  }
  if (size === undefined) return false;
  const digest = await seg.digest();
  await compareExisting(target, seg, dest, size, digest.bytes, digest);
  return true;
}

/** How this replica names its copies (copy-names.ts, prefix ""): with its key when it encrypts. */
export function directoryNaming(config: DirectoryReplica): CopyNaming {
  return { prefix: '', ...(config.encryption ? { key: config.encryption.key, hideNames: config.encryption.hideNames } : {}) };
}

/** `type: directory`: a mounted NAS, USB disk or share; keeps its own ring buffer when it has a retention. */
export const directoryTargetType: TargetType<DirectoryReplica> = {
  create: (config) => ({
    id: config.id,
    where: config.path,
    has: (seg) => directoryTargetHas(config, seg),
    put: (seg) => copyToDirectoryTarget(config, seg),
    ...(config.retention.maxAgeSeconds !== undefined || config.retention.maxBytes !== undefined
      ? { prune: (now?: number) => pruneDirectoryTarget(config, now === undefined ? {} : { now }) }
      : {}),
  }),
  secrets: (config) => {
    const keyText = config.encryption ? replicaKeyText(config.encryption.key) : undefined;
    return keyText ? [keyText] : [];
  },
};
