import type { ReplicaConfig } from '@tapo/config';
import { sha256File, type FileDigest } from '@tapo/durable-file';
import { asSourceError } from '../errors.js';
import type { HttpTargetOptions } from './http.js';

/** One local segment file offered to a target. */
export interface ReplicaSegment {
  /** Absolute path of the local file. */
  absPath: string;
  cameraId: string;
  /** Base name (<camera>-<stamp>Z.mp4). */
  fileName: string;
  /** UTC start, ms since epoch. */
  startMs: number;
  durationMs: number;
  /** sha256 and size of the local file, read once however often it is asked (SourceGoneError when the file is gone). */
  digest(): Promise<FileDigest>;
}

/** A segment for the targets: `digest` is computed on first use and kept. */
export function replicaSegment(fields: Omit<ReplicaSegment, 'digest'>): ReplicaSegment {
  let digest: Promise<FileDigest> | undefined;
  return {
    ...fields,
    digest: () =>
      (digest ??= sha256File(fields.absPath).catch((e: unknown) => {
        throw asSourceError(e, fields.absPath);
      })),
  };
}

export type PutOutcome = 'copied' | 'already';

export interface PutResult extends FileDigest {
  outcome: PutOutcome;
  /** Where the copy is: its absolute path (directory), its URL without credentials (http); the target's `where` when `has` found it. */
  to: string;
}

export interface PruneSummary {
  deleted: number;
  bytes: number;
  /** One line per copy that could not be deleted. */
  errors: string[];
}

/**
 * What a replica target does. Every method reports its target's health the
 * same way, by what it throws:
 *   TargetDownError          unreachable / not mounted / full: the target is marked down, its queue waits and probes
 *   ReplicationRejectedError the target said no for good (wrong token, a different file under that name): the job fails
 *   SourceGoneError          the local file is gone: the job completes as skipped
 * anything else is unexpected and retried with the job's backoff.
 *
 * Segments are whole, closed files for `has` / `put`; targets that can also
 * hold the segment being recorded (the theft window) have `live`.
 */
export interface ReplicaTarget {
  readonly id: string;
  /** Where the copies go, for status pages and messages: the folder, the URL without credentials. */
  readonly where: string;
  /**
   * True when the same file (size and sha256) is already there: the job completes as "already"
   * without sending anything. False when nothing is stored under its name. A different file under
   * that name is a ReplicationRejectedError.
   */
  has(seg: ReplicaSegment): Promise<boolean>;
  /**
   * Stores the segment, whole or not at all (never over an existing file). Idempotent: the same
   * file already there (e.g. stored by another worker meanwhile) is 'already'.
   */
  put(seg: ReplicaSegment): Promise<PutResult>;
  /** Deletes the copies the target's retention no longer keeps. Only targets that keep their own ring buffer have it. */
  prune?(now?: number): Promise<PruneSummary>;
  /** Live copies of the segment being recorded; absent: the target only gets closed segments. */
  live?: LiveTarget;
}

/** Bytes [offset, offset + bytes.length) of a segment file still being written: whole MP4 boxes (ftyp + moov first). */
export interface LiveChunk {
  cameraId: string;
  fileName: string;
  startMs: number;
  offset: number;
  bytes: Buffer;
  /** Media time the file holds up to the end of these bytes (ms). */
  durationMs: number;
  /** The segment was closed and these bytes reach its end (the whole-segment upload may already be there). */
  last?: boolean;
}

export interface LiveAppendResult {
  /** Bytes of the segment the target now holds from its start. */
  held: number;
  /** The target already holds the segment as a finished copy: nothing more to send for it. */
  final: boolean;
}

/** The live segment's final state, for `finish`. */
export interface LiveFinish {
  cameraId: string;
  fileName: string;
  startMs: number;
  /** Bytes of whole boxes the file ended with. */
  bytes: number;
  /** sha256 of those bytes. */
  sha256: string;
  durationMs: number;
}

/**
 * What a target needs to hold a segment while it is being recorded. Errors as for the rest of the
 * target (TargetDownError: retry later; ReplicationRejectedError: stop sending this segment live).
 */
export interface LiveTarget {
  /** Shortest time between two appends of one camera (bounds the requests an object store bills). */
  readonly minIntervalMs: number;
  /**
   * Stores a chunk. Idempotent: bytes the target already holds are not stored twice. When the
   * target holds fewer than `offset` bytes it throws LiveHoleError with what it holds.
   */
  append(chunk: LiveChunk): Promise<LiveAppendResult>;
  /**
   * The segment was closed with every byte appended: the target makes it an ordinary copy now (the
   * whole-segment job then finds it there). Absent: the whole-segment `put` does that (s3 joins the
   * chunks into the whole object by uploading it and deleting them). Throws LiveHoleError when the
   * target holds fewer bytes.
   */
  finish?(seg: LiveFinish): Promise<void>;
}

/** The target holds fewer bytes of the live segment than an append or finish assumed. */
export class LiveHoleError extends Error {
  override readonly name = 'LiveHoleError';
  constructor(
    message: string,
    readonly held: number,
  ) {
    super(message);
  }
}

/** Options every target type may use. */
export interface TargetOptions {
  http?: HttpTargetOptions;
}

/** One `type:` of the config's `replicas:` (see ./index.ts for the registry). */
export interface TargetType<C extends ReplicaConfig> {
  /** A target for this config entry (no I/O: made per job from the live config). */
  create(config: C, options: TargetOptions): ReplicaTarget;
  /** Config values that must never reach a log line (tokens). */
  secrets(config: C): string[];
}
