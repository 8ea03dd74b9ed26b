import { open, type FileHandle } from 'node:fs/promises';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { replicaKeyText, type ReplicaConfig } from '@tapo/config';
import { planPrune, type PruneCandidate } from '@tapo/retention';
import { dayFolderName, parseSegmentFileName } from '@tapo/storage';
import { ReplicationRejectedError, SourceGoneError, asSourceError, TargetDownError, isNetworkDownError, isRetryableStatus, messageOf } from '../errors.js';
import type { CopyNaming } from './copy-names.js';
import type { PruneSummary, PutResult, ReplicaSegment, ReplicaTarget, TargetType } from './target.js';

export type S3Replica = Extract<ReplicaConfig, { type: 's3' }>;

export interface S3TargetOptions {
  /** TCP + TLS connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Longest silence on the socket (sending or waiting for the answer), uploads included. Default 60 s. */
  idleTimeoutMs?: number;
  /** Longest time a HEAD / LIST / DELETE may take in all (uploads have only the idle timeout: a slow uplink is not "down"). Default 60 s. */
  requestTimeoutMs?: number;
}

const CAMERA_DIR = /^[a-z0-9_-]{1,64}$/;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/** `<prefix><camera>/<day>/<file>`: the recordings' relative layout below the prefix. */
export function s3ObjectKey(prefix: string, cameraId: string, fileName: string): string {
  const parsed = parseSegmentFileName(fileName);
  if (!parsed || parsed.cameraId !== cameraId || !CAMERA_DIR.test(cameraId)) throw new Error(`"${fileName}" is not a segment name of camera "${cameraId}"`);
  return `${prefix}${cameraId}/${dayFolderName(parsed.start)}/${fileName}`;
}

/** The segment of a listed key, when the key is one of ours (below the prefix, named by the contract). */
export function parseS3ObjectKey(prefix: string, key: string): { cameraId: string; startMs: number } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split('/');
  if (parts.length !== 3) return undefined;
  const [cam, day, name] = parts as [string, string, string];
  if (!CAMERA_DIR.test(cam) || !DAY_DIR.test(day)) return undefined;
  const parsed = parseSegmentFileName(name);
  if (!parsed || parsed.cameraId !== cam || dayFolderName(parsed.start) !== day) return undefined;
  return { cameraId: cam, startMs: parsed.start.getTime() };
}

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
 * `type: s3`: a bucket of any S3-compatible service (AWS, Backblaze B2,
 * MinIO, Wasabi, Garage…). A segment is one object
 * `<prefix><camera>/<day>/<file>` with metadata sha256, camera, start (ISO)
 * and duration (seconds). `has` is a HEAD (same size and sha256 → there; a
 * different object under that key → ReplicationRejectedError, never
 * overwritten); `put` a PUT streamed from the file.
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

  const has = async (seg: ReplicaSegment): Promise<boolean> => {
    const key = s3ObjectKey(config.prefix, seg.cameraId, seg.fileName);
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
    const theirs = (head.Metadata?.sha256 ?? '').toLowerCase();
    const theirBytes = head.ContentLength;
    if (theirBytes === digest.bytes && theirs === digest.sha256) return true;
    throw new ReplicationRejectedError(
      `${label('HEAD', key)}: a different object is already there (${theirBytes ?? '?'} bytes, sha256 ${theirs.slice(0, 12) || '?'}…; here ${digest.bytes} bytes, ${digest.sha256.slice(0, 12)}…); it is not overwritten`,
      config.id,
      409,
    );
  };

  const put = async (seg: ReplicaSegment): Promise<PutResult> => {
    const key = s3ObjectKey(config.prefix, seg.cameraId, seg.fileName);
    const to = `${bucketUrl}${key}`;
    let fh: FileHandle;
    try {
      fh = await open(seg.absPath, 'r');
    } catch (e) {
      throw asSourceError(e, seg.absPath);
    }
    let body: ReturnType<FileHandle['createReadStream']> | undefined;
    try {
      const digest = await seg.digest();
      if (!absent.has(seg) && (await has(seg))) return { outcome: 'already', ...digest, to };
      absent.delete(seg);
      const size = (await fh.stat()).size;
      if (size !== digest.bytes) throw new Error(`${seg.absPath} changed while it was hashed (${digest.bytes} → ${size} bytes)`);
      let sourceError: unknown;
      if (size > 0) {
        body = fh.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: 256 * 1024 });
        body.on('error', (e) => (sourceError = e));
      }
      const { sdk, client } = await clientP();
      try {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: config.bucket,
            Key: key,
            Body: body ?? Buffer.alloc(0),
            ContentLength: size,
            ContentType: 'video/mp4',
            Metadata: {
              sha256: digest.sha256,
              camera: seg.cameraId,
              start: new Date(seg.startMs).toISOString(),
              duration: (Math.max(0, seg.durationMs) / 1000).toFixed(3),
            },
          }),
          // No deadline for the whole upload (a 60 s segment over a slow uplink takes long): the idle timeout bounds it.
          { requestTimeout: 0 },
        );
      } catch (e) {
        if (sourceError !== undefined) throw new Error(`${label('PUT', key)}: reading ${seg.absPath}: ${messageOf(sourceError)}`);
        throw classify(e, 'PUT', key);
      }
      return { outcome: 'copied', ...digest, to };
    } finally {
      body?.destroy();
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

  /** The bucket's ring buffer: every copy below the prefix (all cameras together), oldest first, by the start in its name. */
  const prune = async (now = Date.now()): Promise<PruneSummary> => {
    const { sdk, client } = await clientP();
    const segments: PruneCandidate[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await client.send(new sdk.ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.prefix, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (e) {
        throw classify(e, 'LIST');
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const seg = parseS3ObjectKey(config.prefix, o.Key);
        if (seg) segments.push({ cameraId: seg.cameraId, file: o.Key, startMs: seg.startMs, durationMs: 0, bytes: o.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    segments.sort((a, b) => a.startMs - b.startMs);
    const plan = planPrune({ now, cameras: [{ cameraId: '*', limits: config.retention, segments }] });
    const doomed = plan.delete
      .filter((d) => parseS3ObjectKey(config.prefix, d.file) !== undefined)
      .map((d) => ({ key: d.file, bytes: d.bytes }));
    const summary: PruneSummary = { deleted: 0, bytes: 0, errors: [] };
    await deleteKeys(doomed, summary);
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
