import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
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
import { ReplicaCryptoError, createOpenStream, createSealStream, sealedSize, type ReplicaKey } from '@tapo/replica-crypto';
import { planPrune, type PruneCandidate } from '@tapo/retention';
import { resolveInside } from '@tapo/storage';
import { ReplicationRejectedError, asSourceError, TargetDownError, errorCode, messageOf } from '../errors.js';
import { copyName, parseCopyName, sealContext, type CopyNaming } from './copy-names.js';
import type { PruneSummary, PutResult, ReplicaSegment, TargetType } from './target.js';

/** The local file, as copyToDirectoryTarget needs it. */
export type LocalSegment = Pick<ReplicaSegment, 'absPath' | 'cameraId' | 'fileName'>;

const CAMERA_DIR = /^[a-z0-9_-]{1,64}$/;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const CHUNK = 1024 * 1024;

/**
 * `<target>/<camera>/<day>/<name>` (plain) or its encrypted name (copy-names, `naming` from
 * directoryNaming), kept inside the target.
 */
export function directoryTargetPath(targetPath: string, cameraId: string, fileName: string, naming: CopyNaming = { prefix: '' }): string {
  const abs = resolveInside(targetPath, copyName(naming, cameraId, fileName));
  if (!abs) throw new Error(`"${fileName}" would leave the target folder`);
  return abs;
}

/** The plaintext size and sha256 of a sealed copy (decrypted on the way; ReplicaCryptoError when it does not open). */
async function openedDigest(key: ReplicaKey, file: string, cameraId: string, fileName: string): Promise<FileDigest> {
  const h = createHash('sha256');
  let bytes = 0;
  await pipeline(createReadStream(file, { highWaterMark: CHUNK }), createOpenStream(key, sealContext(cameraId, fileName), file), async (plain: AsyncIterable<Buffer>) => {
    for await (const b of plain) {
      h.update(b);
      bytes += b.length;
    }
  });
  return { sha256: h.digest('hex'), bytes };
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
 * With `encryption` the copy is the file sealed (createSealStream, bound to
 * sealContext(camera, file)) under its copy-names name (`….mp4.tenc`, camera
 * aliases with hideNames); the read-back decrypts the written copy and
 * compares the plaintext's size + sha256, and an existing copy is compared by
 * decrypting and hashing it (after a cheap size check: sealedSize of the
 * source). A copy that does not open with the key is a different file.
 *
 * Errors on the target side (not mounted, read-only, full, I/O) are
 * TargetDownError; a missing source is SourceGoneError. The target folder
 * itself must exist (it is never created: an unmounted mount point must not
 * fill the local disk); everything below it is created as needed.
 */
export async function copyToDirectoryTarget(target: DirectoryReplica, src: LocalSegment, opts: { verify?: boolean } = {}): Promise<PutResult> {
  const enc = target.encryption;
  const dest = directoryTargetPath(target.path, src.cameraId, src.fileName, directoryNaming(target));
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
    /** Bytes written to the copy (sealed size when encrypted). */
    let written = 0;
    const write = async (buf: Buffer) => {
      try {
        let off = 0;
        while (off < buf.length) off += (await out.write(buf, off, buf.length - off)).bytesWritten;
      } catch (e) {
        throw down(target, `cannot write ${temp}`, e);
      }
      written += buf.length;
    };
    try {
      if (enc) {
        // Source → hash → seal → temp; a fresh buffer per read (the seal stream keeps what it is given).
        const reads = async function* () {
          for (;;) {
            const buf = Buffer.allocUnsafe(CHUNK);
            const n = await readChunk(source, buf);
            if (n === 0) return;
            const got = buf.subarray(0, n);
            h.update(got);
            copied += n;
            yield got;
          }
        };
        await pipeline(reads, createSealStream(enc.key, sealContext(src.cameraId, src.fileName)), async (sealed: AsyncIterable<Buffer>) => {
          for await (const b of sealed) await write(b);
        });
      } else {
        const buf = Buffer.allocUnsafe(CHUNK);
        for (;;) {
          const n = await readChunk(source, buf);
          if (n === 0) break;
          h.update(buf.subarray(0, n));
          await write(buf.subarray(0, n));
          copied += n;
        }
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

    if (enc && written !== sealedSize(copied)) throw new Error(`${temp}: wrote ${written} bytes, expected ${sealedSize(copied)} for ${copied} sealed`);
    if (opts.verify !== false) {
      let back: FileDigest;
      try {
        // Encrypted: the copy is opened again and its plaintext hashed (proves it decrypts).
        back = enc ? await openedDigest(enc.key, temp, src.cameraId, src.fileName) : await sha256File(temp);
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
  const enc = target.encryption;
  const expected = enc ? sealedSize(srcSize) : srcSize;
  if (destSize !== expected) throw conflict(enc ? `${destSize} bytes there, ${expected} for the sealed ${srcSize} bytes here` : `${destSize} bytes there, ${srcSize} here`);
  const mine = srcDigest ?? (await sha256File(src.absPath));
  let theirs: FileDigest;
  try {
    theirs = enc ? await openedDigest(enc.key, dest, src.cameraId, src.fileName) : await sha256File(dest);
  } catch (e) {
    // Does not open with this key (another key, altered): not ours to overwrite.
    if (e instanceof ReplicaCryptoError) throw conflict(e.message.startsWith(`${dest}: `) ? e.message.slice(dest.length + 2) : e.message);
    throw down(target, `cannot read ${dest}`, e);
  }
  if (theirs.sha256 !== mine.sha256 || theirs.bytes !== mine.bytes) throw conflict(enc ? 'it decrypts to another file' : 'same size, different sha256');
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
export async function listTargetSegments(
  root: string,
  opts: { stalePartialMs?: number; now?: number; naming?: CopyNaming } = {},
): Promise<{ segments: TargetSegment[]; dayDirs: string[]; stalePartialsRemoved: number }> {
  const naming = opts.naming ?? { prefix: '' };
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
        // Only whole copies named under this naming (plain ones when it encrypts, and vice versa, are not ours).
        const file = `${cam}/${day}/${d.name}`;
        const parsed = parseCopyName(naming, file);
        if (!parsed || parsed.kind !== 'whole') continue;
        const p = path.join(dayDir, d.name);
        try {
          const st = await stat(p);
          segments.push({ cameraId: parsed.cameraId ?? parsed.nameCamera, file, path: p, startMs: parsed.startMs, durationMs: 0, bytes: st.size });
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
  const { segments, dayDirs, stalePartialsRemoved } = await listTargetSegments(target.path, { stalePartialMs: opts.stalePartialMs ?? 3600_000, now, naming: directoryNaming(target) });
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
  const dest = directoryTargetPath(target.path, seg.cameraId, seg.fileName, directoryNaming(target));
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
