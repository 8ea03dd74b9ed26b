import path from 'node:path';
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
export interface DirectoryReplica extends ReplicaBase {
  type: 'directory';
  /** Absolute path. */
  path: string;
}
export interface HttpReplica extends ReplicaBase {
  type: 'http';
  /** Base URL of the receiving installation's board (no trailing slash). */
  url: string;
  /** Secret: never logged, never in job data. */
  token: string;
}
export type ReplicaConfig = DirectoryReplica | HttpReplica;

/** The `replicas:` entry schema: each type's own fields next to the fields every type has (`common`). */
export function replicaSchema<Common extends z.ZodRawShape>(common: Common, fields: { httpUrl: z.ZodType<string> }) {
  return z.discriminatedUnion('type', [
    z
      .object({
        type: z.literal('directory'),
        /** A mounted NAS, USB disk or network share. */
        path: z.string().min(1, 'must not be empty'),
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
        ...common,
      })
      .strict(),
  ]);
}

/** A validated entry's own fields (what the schema above gives for each type). */
type RawFields = { type: 'directory'; path: string } | { type: 'http'; url: string; token: string };
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
    return { fields: { type: 'directory', path: target } };
  },
  http: (raw) => ({ fields: { type: 'http', url: raw.url.replace(/\/+$/, ''), token: raw.token } }),
};

export function resolveReplicaFields(raw: RawFields, ctx: ReplicaResolveContext): ResolvedFields {
  return (RESOLVE[raw.type] as (r: RawFields, c: ReplicaResolveContext) => ResolvedFields)(raw, ctx);
}
