// The read side of a replica target: what copies it holds (listCopies) and their plaintext
// (readCopy). s3: ListObjectsV2 below the prefix; directory: <path>/<camera>/<day>/. Names are
// parsed by copy-names.ts, so other data sharing the bucket or folder is never listed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { DirectoryReplica, ReplicaConfig } from '@tapo/config';
import { ReplicaCryptoError, createOpenStream, openBuffer } from '@tapo/replica-crypto';
import { dayFolderName, resolveInside } from '@tapo/storage';
import { errorCode, isNetworkDownError, isRetryableStatus, messageOf } from '../errors.js';
import { directoryNaming } from '../targets/directory.js';
import { displayUrl } from '../targets/http.js';
import { nameCamera, parseCopyName, sealContext, type CopyNaming } from '../targets/copy-names.js';
import { listS3Objects, s3ClientFor, s3Naming, type S3Replica } from '../targets/s3.js';
import { joinChunks, type JoinPlan } from './chunks.js';
import { groupCopies, type CopyChunk, type CopyEntry, type CopyReader, type ListedCopy, type UnknownCopies } from './copies.js';
import { MAX_SEGMENT_MS, selectRange } from './select.js';

/** A one-line error of the read side: names the target or the copy, never a key or credential. */
export class RestoreError extends Error {
  override name = 'RestoreError';
}

/** What `recorder restore` / `recorder replicas` say about an http target. */
export const HTTP_REPLICA_RESTORE = 'an http replica is another installation: restore from its board or run recorder export there';
export const HTTP_REPLICA_LISTING = 'listing not available over the replica protocol (see the receiving board)';

export interface ListCopiesOptions {
  /** Only this camera (the real id). */
  camera?: string | undefined;
  /** Only copies overlapping [fromMs, toMs) (see selectRange). */
  fromMs?: number | undefined;
  toMs?: number | undefined;
  /** The configured camera ids: hidden names (encryption.hideNames) are mapped back to these. */
  cameras: readonly string[];
  /** The longest a segment of a camera may be (default 1 h): bounds the last copy's assumed end. */
  maxSegmentMs?: ((cameraId: string) => number) | undefined;
}

export interface CopyListing {
  entries: CopyEntry[];
  /** Copies under camera names that do not map to a configured camera (hidden names of other cameras). */
  unknown: UnknownCopies[];
}

const CAMERA_DIR = /^[a-z0-9_-]{1,64}$/;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
/** A range of more days than this is listed per camera rather than per day. */
const MAX_DAY_PREFIXES = 62;

/** Where a target is, for messages (no credentials). */
export function replicaWhere(config: ReplicaConfig): string {
  switch (config.type) {
    case 'directory':
      return config.path;
    case 's3':
      return `s3://${config.bucket}/${config.prefix} (${config.endpoint})`;
    case 'http':
      return displayUrl(config.url);
  }
}

/** The days (UTC folder names) a listing of [fromMs, toMs) must look at; undefined: all of them. */
function daysOf(opts: ListCopiesOptions): string[] | undefined {
  if (opts.fromMs === undefined || opts.toMs === undefined || !opts.camera) return undefined;
  const longest = opts.maxSegmentMs?.(opts.camera) ?? MAX_SEGMENT_MS;
  const first = Math.floor((opts.fromMs - longest) / DAY_MS);
  const last = Math.floor(opts.toMs / DAY_MS);
  if (last < first) return [];
  if (last - first + 1 > MAX_DAY_PREFIXES) return undefined;
  const days: string[] = [];
  for (let d = first; d <= last; d++) days.push(dayFolderName(new Date(d * DAY_MS)));
  return days;
}

function cryptoOf(naming: CopyNaming): CopyReader['crypto'] {
  const key = naming.key;
  if (!key) return undefined;
  return {
    openStream: (context, what) => createOpenStream(key, context, what),
    openBuffer: (context, sealed, what) => openBuffer(key, context, sealed, what),
  };
}

/** Lists a target: every copy of ours (below the s3 prefix / in the directory layout), one entry per segment. */
export async function scanCopies(config: ReplicaConfig, opts: ListCopiesOptions): Promise<CopyListing> {
  // A camera asked for but not (or no longer) configured: its hidden names are still recognised.
  const cameras = opts.camera && !opts.cameras.includes(opts.camera) ? [...opts.cameras, opts.camera] : opts.cameras;
  let listing: { reader: CopyReader; listed: ListedCopy[] };
  switch (config.type) {
    case 'http':
      throw new RestoreError(`replica "${config.id}": ${HTTP_REPLICA_RESTORE}`);
    case 's3':
      listing = await listS3(config, { ...opts, cameras });
      break;
    case 'directory':
      listing = await listDirectory(config, { ...opts, cameras });
      break;
  }
  let { entries, unknown } = groupCopies(config.id, listing.reader, listing.listed);
  if (opts.camera !== undefined) entries = entries.filter((e) => e.cameraId === opts.camera);
  if (opts.fromMs !== undefined || opts.toMs !== undefined) entries = selectRange(entries, { fromMs: opts.fromMs, toMs: opts.toMs, maxSegmentMs: opts.maxSegmentMs });
  return { entries, unknown: opts.camera !== undefined ? [] : unknown };
}

/** The copies of a target (see scanCopies), oldest first. */
export async function listCopies(config: ReplicaConfig, opts: ListCopiesOptions): Promise<CopyEntry[]> {
  return (await scanCopies(config, opts)).entries;
}

// ---- s3 ---------------------------------------------------------------------------------------

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

type S3Fail = (e: unknown, op: string, key?: string) => RestoreError;

function s3Reader(config: S3Replica, naming: CopyNaming): { reader: CopyReader; fail: S3Fail } {
  const scrub = (text: string): string => {
    let t = text;
    for (const s of [config.secretAccessKey, config.accessKeyId]) if (s) t = t.split(s).join('***');
    return t;
  };
  const label = (key: string) => `s3://${config.bucket}/${key}`;
  const fail: S3Fail = (e, op, key) => {
    const err = (e ?? {}) as SdkError;
    const status = err.$metadata?.httpStatusCode;
    const at = `replica "${config.id}" (s3 ${op} ${key === undefined ? `s3://${config.bucket}/${config.prefix}` : label(key)} at ${config.endpoint})`;
    const raw = err.Code ?? err.name ?? 'Error';
    const vague = raw === 'Unknown' || raw === 'UnknownError' || err.message === 'UnknownError';
    const code = vague ? (status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : 'Error') : raw;
    const text = (vague ? 'no details in the answer' : scrub(messageOf(e))).split('\n')[0]!;
    if (status === undefined) return new RestoreError(`${at}: ${isNetworkDownError(e) ? 'unreachable' : 'no answer'}: ${text}`);
    let hint = '';
    if (code === 'NoSuchBucket') hint = ` (the bucket "${config.bucket}" does not exist at ${config.endpoint})`;
    else if (code === 'NoSuchKey' || status === 404) hint = ' (deleted meanwhile? the ring buffer of the bucket may have pruned it)';
    else if (code === 'InvalidAccessKeyId') hint = ' (the accessKeyId is not known there)';
    else if (code === 'SignatureDoesNotMatch') hint = ' (wrong secretAccessKey, or the region does not match)';
    else if (status === 403) hint = ` (check accessKeyId / secretAccessKey and the key's permissions on bucket "${config.bucket}")`;
    else if (isRetryableStatus(status)) hint = ' (the service is busy or down: try again later)';
    return new RestoreError(`${at}: HTTP ${status} ${code}: ${text}${hint}`);
  };
  const get = async (key: string) => {
    const { sdk, client } = await s3ClientFor(config);
    try {
      // No deadline for the whole download (the idle timeout bounds it): a segment over a slow link takes long.
      return await client.send(new sdk.GetObjectCommand({ Bucket: config.bucket, Key: key }), { requestTimeout: 0 });
    } catch (e) {
      throw fail(e, 'GET', key);
    }
  };
  const reader: CopyReader = {
    where: `s3://${config.bucket}/${config.prefix} (${config.endpoint})`,
    label,
    stream: async (key) => {
      const r = await get(key);
      const body = r.Body as (NodeJS.ReadableStream & { destroy?(): void }) | undefined;
      if (!body) throw new RestoreError(`${label(key)}: the answer has no body`);
      return { body, sha256: r.Metadata?.sha256 };
    },
    buffer: async (key) => {
      const r = await get(key);
      if (!r.Body) throw new RestoreError(`${label(key)}: the answer has no body`);
      try {
        return Buffer.from(await r.Body.transformToByteArray());
      } catch (e) {
        throw fail(e, 'GET', key);
      }
    },
    ...(naming.key ? { crypto: cryptoOf(naming)! } : {}),
  };
  return { reader, fail };
}

async function listS3(config: S3Replica, opts: ListCopiesOptions): Promise<{ reader: CopyReader; listed: ListedCopy[] }> {
  const naming = s3Naming(config);
  const { reader, fail } = s3Reader(config, naming);
  const { sdk, client } = await s3ClientFor(config);
  let prefixes = [config.prefix];
  if (opts.camera !== undefined) {
    const cam = `${config.prefix}${nameCamera(naming, opts.camera)}/`;
    const days = daysOf(opts);
    prefixes = days ? days.map((d) => `${cam}${d}/`) : [cam];
  }
  const listed: ListedCopy[] = [];
  for (const prefix of prefixes) {
    try {
      for await (const o of listS3Objects(sdk, client, config.bucket, prefix)) {
        const parsed = parseCopyName(naming, o.key, opts.cameras);
        if (parsed) listed.push({ name: o.key, bytes: o.bytes, parsed });
      }
    } catch (e) {
      throw fail(e, 'LIST');
    }
  }
  return { reader, listed };
}

// ---- directory ---------------------------------------------------------------------------------

function directoryReader(config: DirectoryReplica, naming: CopyNaming): CopyReader {
  const abs = (name: string): string => {
    const p = resolveInside(config.path, name);
    if (!p) throw new RestoreError(`replica "${config.id}": "${name}" would leave ${config.path}`);
    return p;
  };
  const regular = async (name: string): Promise<string> => {
    const p = abs(name);
    let st;
    try {
      st = await lstat(p);
    } catch (e) {
      throw new RestoreError(`${p}: ${errorCode(e) === 'ENOENT' ? 'gone (deleted meanwhile? the ring buffer of the replica may have pruned it)' : messageOf(e)}`);
    }
    if (!st.isFile()) throw new RestoreError(`${p}: not a regular file`);
    return p;
  };
  return {
    where: config.path,
    label: (name) => path.join(config.path, name),
    stream: async (name) => ({ body: createReadStream(await regular(name), { highWaterMark: 1024 * 1024 }) }),
    buffer: async (name) => {
      const p = await regular(name);
      try {
        return await readFile(p);
      } catch (e) {
        throw new RestoreError(`${p}: ${messageOf(e)}`);
      }
    },
    ...(naming.key ? { crypto: cryptoOf(naming)! } : {}),
  };
}

async function listDirectory(config: DirectoryReplica, opts: ListCopiesOptions): Promise<{ reader: CopyReader; listed: ListedCopy[] }> {
  const naming = directoryNaming(config);
  const root = config.path;
  try {
    const st = await lstat(root);
    if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw new RestoreError(`replica "${config.id}" (directory ${root}): ${errorCode(e) === 'ENOENT' ? 'the folder does not exist (not mounted?)' : `cannot read the folder: ${messageOf(e)}`}`);
  }
  const dirs = async (p: string, re: RegExp): Promise<string[]> => {
    try {
      return (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory() && re.test(d.name)).map((d) => d.name).sort();
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return [];
      throw new RestoreError(`replica "${config.id}" (directory ${root}): cannot read ${p}: ${messageOf(e)}`);
    }
  };
  const files = async (p: string) => {
    try {
      return await readdir(p, { withFileTypes: true });
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return [];
      throw new RestoreError(`replica "${config.id}" (directory ${root}): cannot read ${p}: ${messageOf(e)}`);
    }
  };
  const sizeOf = async (p: string): Promise<number | undefined> => {
    try {
      const st = await lstat(p);
      return st.isFile() ? st.size : undefined;
    } catch {
      return undefined; // deleted meanwhile
    }
  };
  const cameraDirs = opts.camera !== undefined ? (await dirs(root, CAMERA_DIR)).filter((c) => c === nameCamera(naming, opts.camera!)) : await dirs(root, CAMERA_DIR);
  const wanted = daysOf(opts);
  const listed: ListedCopy[] = [];
  for (const cam of cameraDirs) {
    for (const day of await dirs(path.join(root, cam), DAY_DIR)) {
      if (wanted && !wanted.includes(day)) continue;
      const dayDir = path.join(root, cam, day);
      for (const d of await files(dayDir)) {
        const rel = `${cam}/${day}/${d.name}`;
        if (d.isFile()) {
          const parsed = parseCopyName(naming, rel, opts.cameras);
          const bytes = parsed ? await sizeOf(path.join(dayDir, d.name)) : undefined;
          if (parsed && bytes !== undefined) listed.push({ name: rel, bytes, parsed });
        } else if (d.isDirectory() && d.name.endsWith('.live')) {
          for (const c of await files(path.join(dayDir, d.name))) {
            if (!c.isFile()) continue;
            const parsed = parseCopyName(naming, `${rel}/${c.name}`, opts.cameras);
            const bytes = parsed ? await sizeOf(path.join(dayDir, d.name, c.name)) : undefined;
            if (parsed && bytes !== undefined) listed.push({ name: `${rel}/${c.name}`, bytes, parsed });
          }
        }
      }
    }
  }
  return { reader: directoryReader(config, naming), listed };
}

// ---- reading -----------------------------------------------------------------------------------

export interface CopyRead {
  /** The segment file's bytes (decrypted); errors are RestoreError / ReplicaCryptoError naming the copy. */
  stream: Readable;
  /** Live copies: how the chunks join (bytes, the first hole). */
  join?: JoinPlan<CopyChunk>;
  /** Filled while the stream is read: what was restored short of the plan, and why. */
  notes: string[];
}

/** One line for a failure while reading `entry`: names the copy, never a key or credential. */
export function describeReadError(entry: CopyEntry, e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  if (e instanceof RestoreError || e instanceof ReplicaCryptoError) return msg;
  const name = entry.name ?? entry.chunks?.[0]?.name ?? entry.fileName;
  return `${entry.reader.label(name)}: ${msg}`;
}

/** A pass-through that fails at the end when the bytes' sha256 is not `expected`. */
function sha256Check(expected: string, what: string): Transform {
  const h = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      h.update(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const got = h.digest('hex');
      done(got === expected.toLowerCase() ? null : new RestoreError(`${what}: altered (its sha256 is ${got.slice(0, 12)}…, the copy was stored with ${expected.slice(0, 12)}…)`));
    },
  });
}

/**
 * The plaintext of a copy, streamed. Whole copies: the object / file, opened with the target's key
 * when encrypted (a tampered, cut or renamed object, or another key, fails), else checked against
 * the sha256 stored with it when there is one (s3). Live copies: the chunks joined from byte 0 up
 * to the first hole (`join`), each opened on its own and checked against the size in its name.
 */
export async function readCopy(entry: CopyEntry): Promise<CopyRead> {
  const { reader } = entry;
  if (entry.encrypted && !reader.crypto) throw new RestoreError(`${reader.where}: ${entry.fileName} is encrypted and the replica has no key`);
  if (entry.kind === 'whole') {
    const name = entry.name!;
    const what = reader.label(name);
    const { body, sha256 } = await reader.stream(name);
    const stages: NodeJS.ReadWriteStream[] = [];
    if (entry.encrypted) stages.push(reader.crypto!.openStream(sealContext(entry.cameraId, entry.fileName), what));
    else if (sha256 && /^[0-9a-f]{64}$/i.test(sha256)) stages.push(sha256Check(sha256, what));
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    pipeline([body, ...stages, out], () => {});
    return { stream: out, notes: [] };
  }
  const join = joinChunks(entry.chunks ?? []);
  const notes: string[] = [];
  async function* pieces(): AsyncGenerator<Buffer> {
    for (const p of join.pieces) {
      const c = p.chunk;
      const what = reader.label(c.name);
      const stored = await reader.buffer(c.name);
      const plain = entry.encrypted ? reader.crypto!.openBuffer(sealContext(entry.cameraId, entry.fileName, c.offset), stored, what) : stored;
      if (plain.length > c.end - c.offset) throw new RestoreError(`${what}: holds ${plain.length} bytes, its name says ${c.end - c.offset}`);
      if (plain.length < c.end - c.offset) {
        // an upload cut short (the sender vanished mid-PUT on a store that keeps partial objects):
        // its bytes are still the file's from its offset on; the join ends there (a cut last box is trimmed)
        notes.push(`${what} holds ${plain.length} of ${c.end - c.offset} bytes (an upload cut short): the live copy ends there`);
        if (plain.length > p.from - c.offset) yield plain.subarray(p.from - c.offset, Math.min(plain.length, p.to - c.offset));
        return;
      }
      yield plain.subarray(p.from - c.offset, p.to - c.offset);
    }
  }
  return { stream: Readable.from(pieces(), { objectMode: false }), join, notes };
}
