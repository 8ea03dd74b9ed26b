import path from 'node:path';
import { parseReplicaKey, type ReplicaKey } from '@tapo/replica-crypto';
import { z } from 'zod';
import type { RetentionLimits } from './schema.js';

/**
 * Replica target types, config side: per `type:` its own fields (schema),
 * its resolved form (interface) and how one resolves (paths made absolute,
 * checks against the rest of the config). Adding a type: its entries here,
 * then its implementation in libs/replication/src/targets.
 */

interface ReplicaBase {
  id: string;
  /** Only these cameras; undefined = all. */
  cameras?: string[];
  /** maxAgeSeconds bounds the backlog (older segments are not sent); directory: also the copies' ring buffer. */
  retention: RetentionLimits;
  /** Seconds of failing before a "replica unreachable" alert. */
  alertAfterSeconds: number;
}
/**
 * Client-side encryption of a target's copies (directory, s3): the key never leaves this
 * installation; losing it loses the footage. Not for http (the receiver must play and index).
 */
export interface ReplicaEncryption {
  /** Secret: never logged, never in job data (its text form: replicaKeyText, for redaction). */
  key: ReplicaKey;
  /** Camera ids replaced by key.cameraAlias(id) in every copy name. */
  hideNames: boolean;
}
export interface DirectoryReplica extends ReplicaBase {
  type: 'directory';
  /** Absolute path. */
  path: string;
  encryption?: ReplicaEncryption;
}
export interface HttpReplica extends ReplicaBase {
  type: 'http';
  /** Base URL of the receiving installation's board (no trailing slash). */
  url: string;
  /** Secret: never logged, never in job data. */
  token: string;
  /** The segment being recorded goes too, as it is written (the theft window). Default true. */
  live: boolean;
}
export interface S3Replica extends ReplicaBase {
  type: 's3';
  /** http(s) URL of the S3 API (no trailing slash), e.g. https://s3.eu-central-003.backblazeb2.com. */
  endpoint: string;
  region: string;
  bucket: string;
  /** Key prefix of every copy: ends with "/", no leading "/". Keys are <prefix><camera>/<day>/<file>. */
  prefix: string;
  /** Secret (redacted from logs). */
  accessKeyId: string;
  /** Secret: never logged, never in job data. */
  secretAccessKey: string;
  /** https://endpoint/bucket/key (true, default: MinIO, B2, Garage…) instead of https://bucket.endpoint/key. */
  forcePathStyle: boolean;
  encryption?: ReplicaEncryption;
  /** The segment being recorded goes too, as chunk objects (the theft window). Default true. */
  live: boolean;
  /** Seconds between two live chunks of one camera (≤ 1 request per camera per chunkSeconds). Default 2. */
  chunkSeconds: number;
}
export type ReplicaConfig = DirectoryReplica | HttpReplica | S3Replica;

/** The S3 API's URL: http or https, a host, no user:pass, query or fragment. */
const s3Endpoint = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    (u) => {
      if (u === '') return true; // "must not be empty" says it
      try {
        const p = new URL(u);
        return (p.protocol === 'http:' || p.protocol === 'https:') && p.hostname.length > 0 && !p.username && !p.password && !p.search && !p.hash;
      } catch {
        return false;
      }
    },
    { message: 'must be an http:// or https:// URL without credentials or query, e.g. https://s3.eu-central-003.backblazeb2.com' },
  );

/** S3 bucket names (AWS: 3-63 of a-z 0-9 . -; other services are a little looser). */
const s3Bucket = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,254})?$/, 'must be a bucket name (letters, digits, ".", "-" or "_"; no "/")');

const s3Prefix = z
  .string()
  .default('tapo-recorder/')
  .refine((p) => p.endsWith('/') && p.length > 1, { message: 'must end with "/" (e.g. "tapo-recorder/")' })
  .refine((p) => !p.startsWith('/'), { message: 'must not start with "/"' })
  .refine((p) => !p.split('/').slice(0, -1).some((part) => part === '' || part === '.' || part === '..'), { message: 'must not contain "//", "./" or "../"' })
  .refine((p) => !/[\u0000-\u001f\u007f\\]/.test(p), { message: 'must not contain control characters or "\\"' });

/** `encryption: { key: ${REPLICA_KEY}, hideNames: false }` (directory and s3). */
const encryptionSchema = z
  .object({
    /** Write it as ${ENV_VAR}; `recorder keygen` prints one. */
    key: z.string(),
    hideNames: z.boolean().default(false),
  })
  .strict()
  .optional();

/** The text a parsed key came from, for redaction only (a WeakMap: never serialised with the config). */
const keyTexts = new WeakMap<ReplicaKey, string>();

/** The text form of a key parsed from a config (for `secrets()` / log redaction); undefined for keys made elsewhere. */
export function replicaKeyText(key: ReplicaKey): string | undefined {
  return keyTexts.get(key);
}

function resolveEncryption(raw: RawEncryption | undefined): { encryption?: ReplicaEncryption } | { problem: { field: string; message: string } } {
  if (raw === undefined) return {};
  let key: ReplicaKey;
  try {
    key = parseReplicaKey(raw.key, 'the key');
  } catch (e) {
    // parseReplicaKey's messages never hold the key; keep them to one line anyway.
    return { problem: { field: 'encryption.key', message: (e instanceof Error ? e.message : String(e)).split('\n')[0]! } };
  }
  keyTexts.set(key, raw.key.trim());
  return { encryption: { key, hideNames: raw.hideNames } };
}

/** The `replicas:` entry schema: each type's own fields next to the fields every type has (`common`). */
export function replicaSchema<Common extends z.ZodRawShape>(common: Common, fields: { httpUrl: z.ZodType<string> }) {
  return z.discriminatedUnion('type', [
    z
      .object({
        type: z.literal('directory'),
        /** A mounted NAS, USB disk or network share. */
        path: z.string().min(1, 'must not be empty'),
        /** Seal the copies with a key of this installation's (recorder keygen). */
        encryption: encryptionSchema,
        ...common,
      })
      .strict(),
    z
      .object({
        type: z.literal('http'),
        /** Base URL of the other installation's board, e.g. https://office-box:3000. */
        url: fields.httpUrl,
        /** The token the other installation lists under receive.tokens. */
        token: z.string().min(16, 'must be at least 16 characters (use a long random token)'),
        /** Refused at resolve (one clear line instead of "unknown key"). */
        encryption: z.unknown().optional(),
        /** Send the segment being recorded as it is written (appended on the receiver). */
        live: z.boolean().default(true),
        ...common,
      })
      .strict(),
    z
      .object({
        type: z.literal('s3'),
        /** The S3 API, e.g. https://s3.eu-central-003.backblazeb2.com or http://127.0.0.1:9000. */
        endpoint: s3Endpoint,
        region: z.string().min(1, 'must not be empty').default('us-east-1'),
        bucket: s3Bucket,
        /** Where below the bucket the copies go. */
        prefix: s3Prefix,
        /** Write them as ${ENV_VAR}. */
        accessKeyId: z.string().min(1, 'must not be empty'),
        secretAccessKey: z.string().min(1, 'must not be empty'),
        forcePathStyle: z.boolean().default(true),
        encryption: encryptionSchema,
        /** Send the segment being recorded as small chunk objects. */
        live: z.boolean().default(true),
        /** Seconds between two chunks of one camera: the theft window's s3 part, and the PUTs it costs. */
        chunkSeconds: z.number().min(1, 'must be at least 1 (second)').max(60, 'must be at most 60 (seconds)').default(2),
        ...common,
      })
      .strict(),
  ]);
}

/** A validated entry's own fields (what the schema above gives for each type). */
interface RawEncryption {
  key: string;
  hideNames: boolean;
}
type RawFields =
  | { type: 'directory'; path: string; encryption?: RawEncryption | undefined }
  | { type: 'http'; url: string; token: string; encryption?: unknown; live: boolean }
  | {
      type: 's3';
      endpoint: string;
      region: string;
      bucket: string;
      prefix: string;
      accessKeyId: string;
      secretAccessKey: string;
      forcePathStyle: boolean;
      encryption?: RawEncryption | undefined;
      live: boolean;
      chunkSeconds: number;
    };
type OwnFields<T extends ReplicaConfig['type']> = Extract<ReplicaConfig, { type: T }> extends infer R ? (R extends unknown ? Omit<R, keyof ReplicaBase> : never) : never;

export interface ReplicaResolveContext {
  /** Folder relative paths are resolved against (the config file's). */
  baseDir: string;
  /** Absolute. */
  recordingsDir: string;
}

/** One entry's own fields resolved, or what is wrong with one of them (`field` relative to the entry). */
export type ResolvedFields<T extends ReplicaConfig['type'] = ReplicaConfig['type']> = { fields: OwnFields<T> } | { problem: { field: string; message: string } };

const RESOLVE: { [T in ReplicaConfig['type']]: (raw: Extract<RawFields, { type: T }>, ctx: ReplicaResolveContext) => ResolvedFields<T> } = {
  directory: (raw, ctx) => {
    const target = path.resolve(ctx.baseDir, raw.path);
    const inside = (a: string, b: string) => a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
    if (inside(target, ctx.recordingsDir) || inside(ctx.recordingsDir, target)) {
      return { problem: { field: 'path', message: `${target} overlaps recordingsDir (${ctx.recordingsDir}): a copy must live on another disk or share` } };
    }
    const enc = resolveEncryption(raw.encryption);
    if ('problem' in enc) return enc;
    return { fields: { type: 'directory', path: target, ...enc } };
  },
  http: (raw) => {
    if (raw.encryption !== undefined) {
      return {
        problem: {
          field: 'encryption',
          message: 'is not for type http: the receiving installation must play and index the copies; use an https:// url and a token instead',
        },
      };
    }
    return { fields: { type: 'http', url: raw.url.replace(/\/+$/, ''), token: raw.token, live: raw.live } };
  },
  s3: (raw) => {
    const enc = resolveEncryption(raw.encryption);
    if ('problem' in enc) return enc;
    return {
      fields: {
        type: 's3',
        endpoint: raw.endpoint.replace(/\/+$/, ''),
        region: raw.region,
        bucket: raw.bucket,
        prefix: raw.prefix,
        accessKeyId: raw.accessKeyId,
        secretAccessKey: raw.secretAccessKey,
        forcePathStyle: raw.forcePathStyle,
        live: raw.live,
        chunkSeconds: raw.chunkSeconds,
        ...enc,
      },
    };
  },
};

export function resolveReplicaFields(raw: RawFields, ctx: ReplicaResolveContext): ResolvedFields {
  return (RESOLVE[raw.type] as (r: RawFields, c: ReplicaResolveContext) => ResolvedFields)(raw, ctx);
}
