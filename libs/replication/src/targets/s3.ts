import { createHmac, timingSafeEqual } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { replicaKeyText, type ReplicaConfig } from '@tapo/config';
import { createSealStream, sealBuffer, sealedSize, type ReplicaKey } from '@tapo/replica-crypto';
import { planPrune, type PruneCandidate } from '@tapo/retention';
import { ReplicationRejectedError, SourceGoneError, asSourceError, TargetDownError, isNetworkDownError, isRetryableStatus, messageOf } from '../errors.js';
import { LIVE_SUFFIX, copyName, liveChunkPrefix, parseCopyName, sealContext, type CopyNaming } from './copy-names.js';
import type { PruneSummary, PutResult, ReplicaSegment, ReplicaTarget, TargetType } from './target.js';

export type S3Replica = Extract<ReplicaConfig, { type: 's3' }>;

export interface S3TargetOptions {
  /** TCP + TLS connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Longest silence on the socket (sending or waiting for the answer), uploads included. Default 60 s. */
  idleTimeoutMs?: number;
  /** Longest time a HEAD / LIST / DELETE may take in all (uploads have only the idle timeout: a slow uplink is not "down"). Default 60 s. */
  requestTimeoutMs?: number;
  /**
   * Non-fatal problems (live chunks of a stored segment that could not be deleted: the prune
   * removes them later). Default: a process warning. Messages never hold secrets.
   */
  warn?: (message: string) => void;
}

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/** `<prefix><camera>/<day>/<file>`: a plain copy's key (copyName without a key). */
export function s3ObjectKey(prefix: string, cameraId: string, fileName: string): string {
  return copyName({ prefix }, cameraId, fileName);
}

/** The segment of a listed key, when the key is a plain whole copy of ours (parseCopyName without a key). */
export function parseS3ObjectKey(prefix: string, key: string): { cameraId: string; startMs: number } | undefined {
  const p = parseCopyName({ prefix }, key);
  return p && p.kind === 'whole' && p.cameraId !== undefined ? { cameraId: p.cameraId, startMs: p.startMs } : undefined;
}

/**
 * Metadata of an encrypted copy: `plain-bytes` (the segment's size), `plain-mac` (this of its
 * sha256) and `key-id`. An HMAC under the key's name key, so that `has` can tell the same
 * segment without downloading it, and the bucket learns no content hash.
 */
export function plainDigestMac(key: ReplicaKey, sha256: string): string {
  return createHmac('sha256', key.nameKey).update(`plain sha256\0${sha256.toLowerCase()}`).digest('hex');
}

const sameHex = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Clients are kept per endpoint + credentials (connections are reused between
 * jobs); `create` stays I/O-free. One SDK retry: a kept-alive socket the
 * server has just closed is not "down" (the SDK never retries a streamed PUT
 * body; BullMQ does the real retries).
 */
const clients = new Map<string, S3Client>();
const MAX_CLIENTS = 16;
/** The SDK's own warnings (e.g. "error in a non-retryable streaming request") would go to the console: what failed is in the error thrown. */
const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

type Sdk = typeof import('@aws-sdk/client-s3');
let sdkLoading: Promise<Sdk> | undefined;
/** The SDK is loaded on first use: processes without an s3 target never evaluate it (it is large). */
export function loadS3Sdk(): Promise<Sdk> {
  return (sdkLoading ??= import('@aws-sdk/client-s3'));
}

async function clientFor(config: S3Replica, options: S3TargetOptions): Promise<{ sdk: Sdk; client: S3Client }> {
  const sdk = await loadS3Sdk();
  const key = JSON.stringify([config.endpoint, config.region, config.forcePathStyle, config.accessKeyId, config.secretAccessKey, options.connectTimeoutMs, options.idleTimeoutMs, options.requestTimeoutMs]);
  let client = clients.get(key);
  if (client) return { sdk, client };
  client = new sdk.S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 5_000,
      socketTimeout: options.idleTimeoutMs ?? 60_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // Without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
    // No CRC trailers / aws-chunked bodies: many S3-compatible services do not take them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    logger: SILENT,
  });
  if (clients.size >= MAX_CLIENTS) {
    const [oldest, old] = clients.entries().next().value as [string, S3Client];
    clients.delete(oldest);
    old.destroy();
  }
  clients.set(key, client);
  return { sdk, client };
}

/** The (kept) client of an s3 replica with the default timeouts: for code that reads a bucket outside a target (restore, listings). */
export function s3ClientFor(config: S3Replica): Promise<{ sdk: Sdk; client: S3Client }> {
  return clientFor(config, {});
}

/**
 * Every object below `prefix`, page by page (ListObjectsV2 with its continuation token). SDK errors
 * are thrown as they come: the caller says what they mean for its target.
 */
export async function* listS3Objects(sdk: Sdk, client: S3Client, bucket: string, prefix: string): AsyncGenerator<{ key: string; bytes: number }> {
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, bytes: o.Size ?? 0 };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** How this replica names its copies (copy-names.ts): its prefix, and its key when it encrypts. */
export function s3Naming(config: S3Replica): CopyNaming {
  return { prefix: config.prefix, ...(config.encryption ? { key: config.encryption.key, hideNames: config.encryption.hideNames } : {}) };
}

/** Closes the kept connections of every S3 target (tests, shutdown). */
export function closeS3Clients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
}

/**
 * How an s3 replica's failures read and what they mean (every request of the target and of its live
 * chunks): secrets scrubbed from messages, a label naming the target, bucket and key, and an SDK
 * error turned into TargetDownError (unreachable, 5xx, 408, 429) or ReplicationRejectedError.
 */
export function s3Errors(config: S3Replica): { scrub(text: string): string; label(op: string, key?: string): string; classify(e: unknown, op: string, key?: string): Error } {
  const bucketUrl = `s3://${config.bucket}/`;
  const scrub = (text: string): string => {
    let t = text;
    for (const s of [config.secretAccessKey, config.accessKeyId]) if (s) t = t.split(s).join('***');
    return t;
  };
  const label = (op: string, key?: string) => `replica "${config.id}" (s3 ${op} ${bucketUrl}${key ?? config.prefix} at ${config.endpoint})`;

  /** What an SDK failure means for the target. */
  const classify = (e: unknown, op: string, key?: string): Error => {
    if (e instanceof SourceGoneError || e instanceof TargetDownError || e instanceof ReplicationRejectedError) return e;
    const err = (e ?? {}) as SdkError;
    const status = err.$metadata?.httpStatusCode;
    const raw = err.Code ?? err.name ?? 'Error';
    // A HEAD answer has no body: the SDK then only knows the status.
    const vague = raw === 'Unknown' || raw === 'UnknownError' || err.message === 'UnknownError';
    const code = vague ? (status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : 'Error') : raw;
    const text = vague ? 'no details in the answer' : scrub(messageOf(e));
    if (status === undefined) {
      const what = isNetworkDownError(e) ? 'unreachable' : 'no answer';
      return new TargetDownError(`${label(op, key)}: ${what}: ${text}`, config.id, { cause: e });
    }
    if (isRetryableStatus(status)) return new TargetDownError(`${label(op, key)}: HTTP ${status} ${code}: ${text}`, config.id, { cause: e });
    let hint = '';
    if (code === 'NoSuchBucket') hint = ` (the bucket "${config.bucket}" does not exist at ${config.endpoint})`;
    else if (code === 'InvalidAccessKeyId') hint = ' (the accessKeyId is not known there)';
    else if (code === 'SignatureDoesNotMatch') hint = ' (wrong secretAccessKey, or the region does not match)';
    else if (status === 403) hint = ` (check accessKeyId / secretAccessKey and the key's permissions on bucket "${config.bucket}")`;
    else if (status === 301 || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed') hint = ' (wrong region or endpoint for this bucket?)';
    return new ReplicationRejectedError(`${label(op, key)}: refused with HTTP ${status} ${code}: ${text}${hint}`, config.id, status);
  };
  return { scrub, label, classify };
}

/**
 * `type: s3`: a bucket of any S3-compatible service (AWS, Backblaze B2,
 * MinIO, Wasabi, Garage…). A segment is one object
 * `<prefix><camera>/<day>/<file>` with metadata sha256, camera, start (ISO)
 * and duration (seconds). `has` is a HEAD (same size and sha256 → there; a
 * different object under that key → ReplicationRejectedError, never
 * overwritten); `put` a PUT streamed from the file.
 *
 * With `encryption`, the object (named by copy-names: `….mp4.tenc`, camera ids
 * replaced by aliases with hideNames) is the file sealed with
 * createSealStream(key, sealContext(camera, file)); its metadata holds the
 * plaintext size, the key id and plainDigestMac (never the sha256, nor the
 * camera with hideNames), which is what `has` compares.
 *
 * After a put (or 'already') the segment's live chunks
 * (`<copy name>.live/<offset>-<end>`) are deleted: a failure there is only a
 * warning, the prune deletes them later.
 *
 * No answer / timeout / 5xx / 408 / 429 → TargetDownError; 403 (wrong keys,
 * no permission), a missing bucket and other refusals →
 * ReplicationRejectedError. Messages name the target, bucket and key, never
 * the keys.
 */
export function s3Target(config: S3Replica, options: S3TargetOptions = {}): ReplicaTarget {
  const clientP = () => clientFor(config, options);
  const bucketUrl = `s3://${config.bucket}/`;
  const where = `${bucketUrl}${config.prefix} (${config.endpoint})`;
  /** Segments `has` found absent: `put` goes straight to the PUT. */
  const absent = new WeakSet<ReplicaSegment>();

  const { scrub, label, classify } = s3Errors(config);

  const naming = s3Naming(config);
  const enc = config.encryption;
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'ReplicaWarning'));

  /** The copy's name: throws a plain Error for a file name that is not the camera's segment. */
  const keyOf = (seg: ReplicaSegment) => copyName(naming, seg.cameraId, seg.fileName);

  const hasCopy = async (seg: ReplicaSegment): Promise<boolean> => {
    const key = keyOf(seg);
    const digest = await seg.digest();
    const { sdk, client } = await clientP();
    let head;
    try {
      head = await client.send(new sdk.HeadObjectCommand({ Bucket: config.bucket, Key: key }));
    } catch (e) {
      if ((e as SdkError).$metadata?.httpStatusCode === 404) {
        absent.add(seg);
        return false;
      }
      throw classify(e, 'HEAD', key);
    }
    if (enc) {
      const meta = head.Metadata ?? {};
      const theirKey = meta['key-id'] ?? '';
      const theirPlain = meta['plain-bytes'] ?? '';
      const theirMac = (meta['plain-mac'] ?? '').toLowerCase();
      if (
        theirKey === enc.key.id &&
        theirPlain === String(digest.bytes) &&
        head.ContentLength === sealedSize(digest.bytes) &&
        sameHex(theirMac, plainDigestMac(enc.key, digest.sha256))
      ) {
        return true;
      }
      const why =
        theirKey && theirKey !== enc.key.id
          ? `encrypted with another key (key id ${theirKey}; the configured key is ${enc.key.id})`
          : `${theirPlain || '?'} plaintext bytes in ${head.ContentLength ?? '?'}${theirPlain === String(digest.bytes) ? ', another content' : ''}; here ${digest.bytes} bytes`;
      throw new ReplicationRejectedError(`${label('HEAD', key)}: a different object is already there (${why}); it is not overwritten`, config.id, 409);
    }
    const theirs = (head.Metadata?.sha256 ?? '').toLowerCase();
    const theirBytes = head.ContentLength;
    if (theirBytes === digest.bytes && theirs === digest.sha256) return true;
    throw new ReplicationRejectedError(
      `${label('HEAD', key)}: a different object is already there (${theirBytes ?? '?'} bytes, sha256 ${theirs.slice(0, 12) || '?'}…; here ${digest.bytes} bytes, ${digest.sha256.slice(0, 12)}…); it is not overwritten`,
      config.id,
      409,
    );
  };

  /**
   * The join: once the whole copy is there, the segment's live chunks (written while it was being
   * recorded) are redundant. Failing to delete them is not the segment's failure (prune removes them).
   */
  const joinLiveChunks = async (seg: ReplicaSegment): Promise<void> => {
    let prefix: string;
    try {
      prefix = liveChunkPrefix(naming, seg.cameraId, seg.fileName);
      const chunks = await listOurs(prefix);
      const doomed = chunks.filter((c) => c.parsed.kind === 'chunk').map((c) => ({ key: c.key, bytes: c.bytes }));
      if (doomed.length === 0) return;
      const summary: PruneSummary = { deleted: 0, bytes: 0, errors: [] };
      await deleteKeys(doomed, summary);
      if (summary.errors.length > 0) warn(`replica "${config.id}": ${summary.errors.length} live chunks of ${keyOf(seg)} not deleted (the prune retries): ${summary.errors[0]}`);
    } catch (e) {
      warn(`replica "${config.id}": live chunks of ${seg.fileName} not deleted (the prune retries): ${scrub(messageOf(e))}`);
    }
  };

  const has = async (seg: ReplicaSegment): Promise<boolean> => {
    const there = await hasCopy(seg);
    if (there) await joinLiveChunks(seg);
    return there;
  };

  const put = async (seg: ReplicaSegment): Promise<PutResult> => {
    const key = keyOf(seg);
    const to = `${bucketUrl}${key}`;
    let fh: FileHandle;
    try {
      fh = await open(seg.absPath, 'r');
    } catch (e) {
      throw asSourceError(e, seg.absPath);
    }
    let file: ReturnType<FileHandle['createReadStream']> | undefined;
    let body: Readable | undefined;
    try {
      const digest = await seg.digest();
      if (!absent.has(seg) && (await hasCopy(seg))) {
        await joinLiveChunks(seg);
        return { outcome: 'already', ...digest, to };
      }
      absent.delete(seg);
      const size = (await fh.stat()).size;
      if (size !== digest.bytes) throw new Error(`${seg.absPath} changed while it was hashed (${digest.bytes} → ${size} bytes)`);
      let sourceError: unknown;
      if (size > 0) {
        file = fh.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: 256 * 1024 });
        file.on('error', (e) => (sourceError = e));
        body = file;
        if (enc) {
          // The seal stream fails (and so the PUT) when the file does; sourceError says why.
          body = pipeline(file, createSealStream(enc.key, sealContext(seg.cameraId, seg.fileName)), () => {});
        }
      }
      const duration = (Math.max(0, seg.durationMs) / 1000).toFixed(3);
      const start = new Date(seg.startMs).toISOString();
      const { sdk, client } = await clientP();
      try {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: config.bucket,
            Key: key,
            Body: body ?? (enc ? sealBuffer(enc.key, sealContext(seg.cameraId, seg.fileName), Buffer.alloc(0)) : Buffer.alloc(0)),
            ContentLength: enc ? sealedSize(size) : size,
            ContentType: enc ? 'application/octet-stream' : 'video/mp4',
            // Encrypted: no content hash and, with hideNames, no camera id (the start is in the name anyway).
            Metadata: enc
              ? {
                  'key-id': enc.key.id,
                  'plain-bytes': String(size),
                  'plain-mac': plainDigestMac(enc.key, digest.sha256),
                  ...(enc.hideNames ? {} : { camera: seg.cameraId }),
                  start,
                  duration,
                }
              : { sha256: digest.sha256, camera: seg.cameraId, start, duration },
          }),
          // No deadline for the whole upload (a 60 s segment over a slow uplink takes long): the idle timeout bounds it.
          { requestTimeout: 0 },
        );
      } catch (e) {
        if (sourceError !== undefined) throw new Error(`${label('PUT', key)}: reading ${seg.absPath}: ${messageOf(sourceError)}`);
        throw classify(e, 'PUT', key);
      }
      await joinLiveChunks(seg);
      return { outcome: 'copied', ...digest, to };
    } finally {
      body?.destroy();
      file?.destroy();
      await fh.close().catch(() => {});
    }
  };

  const deleteKeys = async (keys: { key: string; bytes: number }[], summary: PruneSummary): Promise<void> => {
    const { sdk, client } = await clientP();
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let failed: Map<string, string>;
      try {
        const r = await client.send(
          new sdk.DeleteObjectsCommand({ Bucket: config.bucket, Delete: { Objects: batch.map((k) => ({ Key: k.key })), Quiet: true } }),
        );
        failed = new Map((r.Errors ?? []).map((x) => [x.Key ?? '', `${x.Code ?? 'Error'}: ${x.Message ?? ''}`]));
      } catch (e) {
        const err = classify(e, 'DeleteObjects');
        if (!(err instanceof ReplicationRejectedError) || err.status === 403) throw err;
        // A service without DeleteObjects (or its checksum rules): one by one.
        failed = new Map();
        for (const k of batch) {
          try {
            await client.send(new sdk.DeleteObjectCommand({ Bucket: config.bucket, Key: k.key }));
          } catch (e2) {
            const err2 = classify(e2, 'DELETE', k.key);
            if (err2 instanceof TargetDownError) throw err2;
            failed.set(k.key, err2.message);
          }
        }
      }
      for (const k of batch) {
        const why = failed.get(k.key);
        if (why !== undefined) summary.errors.push(`${k.key}: ${scrub(why)}`);
        else {
          summary.deleted++;
          summary.bytes += k.bytes;
        }
      }
    }
  };

  /** Every key below `prefix` that parseCopyName recognises under this target's naming (other data is never listed as ours). */
  const listOurs = async (prefix: string): Promise<{ key: string; bytes: number; parsed: NonNullable<ReturnType<typeof parseCopyName>> }[]> => {
    const { sdk, client } = await clientP();
    const out: { key: string; bytes: number; parsed: NonNullable<ReturnType<typeof parseCopyName>> }[] = [];
    try {
      for await (const o of listS3Objects(sdk, client, config.bucket, prefix)) {
        const parsed = parseCopyName(naming, o.key);
        if (parsed) out.push({ ...o, parsed });
      }
    } catch (e) {
      throw classify(e, 'LIST');
    }
    return out;
  };

  /**
   * The bucket's ring buffer: every copy below the prefix (all cameras together), oldest first, by
   * the start in its name. A segment's live chunks count with it (maxSize) and go with it (maxAge,
   * maxSize); chunks of a segment whose whole copy is there are deleted in any case (a missed join).
   */
  const prune = async (now = Date.now()): Promise<PruneSummary> => {
    interface Group {
      startMs: number;
      whole?: { key: string; bytes: number };
      chunks: { key: string; bytes: number }[];
    }
    const groups = new Map<string, Group>();
    for (const o of await listOurs(config.prefix)) {
      const base = o.parsed.kind === 'chunk' ? o.key.slice(0, o.key.indexOf(LIVE_SUFFIX)) : o.key;
      let g = groups.get(base);
      if (!g) groups.set(base, (g = { startMs: o.parsed.startMs, chunks: [] }));
      if (o.parsed.kind === 'chunk') g.chunks.push({ key: o.key, bytes: o.bytes });
      else g.whole = { key: o.key, bytes: o.bytes };
    }
    const doomed: { key: string; bytes: number }[] = [];
    const segments: PruneCandidate[] = [];
    for (const [base, g] of groups) {
      if (g.whole && g.chunks.length > 0) {
        doomed.push(...g.chunks);
        g.chunks = [];
      }
      const bytes = (g.whole?.bytes ?? 0) + g.chunks.reduce((a, c) => a + c.bytes, 0);
      segments.push({ cameraId: '*', file: base, startMs: g.startMs, durationMs: 0, bytes });
    }
    segments.sort((a, b) => a.startMs - b.startMs);
    const plan = planPrune({ now, cameras: [{ cameraId: '*', limits: config.retention, segments }] });
    for (const d of plan.delete) {
      const g = groups.get(d.file);
      if (!g) continue;
      if (g.whole) doomed.push(g.whole);
      doomed.push(...g.chunks);
    }
    const summary: PruneSummary = { deleted: 0, bytes: 0, errors: [] };
    // Only names parseCopyName made ours (checked once more on the way out).
    await deleteKeys(doomed.filter((k) => parseCopyName(naming, k.key) !== undefined), summary);
    return summary;
  };

  return {
    id: config.id,
    where,
    has,
    put,
    ...(config.retention.maxAgeSeconds !== undefined || config.retention.maxBytes !== undefined ? { prune } : {}),
  };
}

export const s3TargetType: TargetType<S3Replica> = {
  create: (config) => s3Target(config),
  secrets: (config) => [config.secretAccessKey, config.accessKeyId, config.encryption ? (replicaKeyText(config.encryption.key) ?? '') : ''].filter((s) => s.length > 0),
};
