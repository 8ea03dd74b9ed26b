import type { ReplicaConfig } from '@tapo/config';
import { directoryTargetType } from './directory.js';
import { httpTargetType } from './http.js';
import { s3TargetType } from './s3.js';
import { s3LiveTarget } from './s3-live.js';
import type { ReplicaTarget, TargetOptions, TargetType } from './target.js';

/**
 * The one place where a config `type:` meets its implementation. Adding a
 * target type: its schema in libs/config (src/replicas.ts), one file here
 * exporting a TargetType, and its line below (the compiler asks for it once
 * the config type exists).
 */
const TARGET_TYPES: { [K in ReplicaConfig['type']]: TargetType<Extract<ReplicaConfig, { type: K }>> } = {
  directory: directoryTargetType,
  http: httpTargetType,
  s3: s3TargetType,
};

function typeOf<C extends ReplicaConfig>(config: C): TargetType<C> {
  return TARGET_TYPES[config.type] as unknown as TargetType<C>;
}

/** The target of one `replicas:` entry (no I/O; made per job from the live config). */
export function createReplicaTarget(config: ReplicaConfig, options: TargetOptions = {}): ReplicaTarget {
  const target = typeOf(config).create(config, options);
  // live copies: http has them in its target (append + finish), s3 as chunk objects; directory: none yet
  if (config.type === 's3' && !target.live) return { ...target, live: s3LiveTarget(config) };
  return target;
}

/** Config values of this entry that must never reach a log line (tokens). */
export function replicaSecrets(config: ReplicaConfig): string[] {
  return typeOf(config).secrets(config);
}
