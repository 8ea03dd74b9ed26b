// @tapo/replication: off-site copies of every closed segment (directory targets and other installations over HTTP).
export {
  REPLICATE_JOB_OPTIONS,
  createReplicateQueue,
  enqueueReplicas,
  olderThanRetention,
  replicateQueues,
  targetWantsCamera,
  type EnqueueReplicasOptions,
  type ReplicateJobData,
  type ReplicateOutcome,
  type ReplicateQueue,
  type ReplicateQueues,
  type ReplicateResult,
  type SegmentToReplicate,
} from './replicate-job.js';
export {
  copyToDirectoryTarget,
  directoryTargetPath,
  listTargetSegments,
  planDirectoryPrune,
  pruneDirectoryTarget,
  type CopyOutcome,
  type CopyResult,
  type DirectoryPruneSummary,
  type LocalSegment,
  type TargetSegment,
} from './directory-target.js';
export { RECEIVE_PATH, displayUrl, segmentUrl, uploadToHttpTarget, type HttpSegment, type HttpTargetOptions } from './http-target.js';
export { createReceiveRouter, playableKind, type ReceiveRouterOptions } from './receive-router.js';
export { matchBearer, receiveTarget, suspiciousRawPath, type ReceiveTarget } from './receive-auth.js';
export {
  TargetDownSignal,
  processReplicate,
  startReplicationWorkers,
  type ReplicateContext,
  type ReplicationWorkers,
  type ReplicationWorkersOptions,
} from './replicate-processor.js';
export { REPLICATE_LIMITER, replicationKey, replicationStatus, type ReplicaTargetStatus } from './status.js';
export { DEFAULT_DOWN_BACKOFF, TargetHealth, downBackoffMs, type BackoffRange, type TargetState } from './target-health.js';
export { RequeueOrder, type RequeueOrderOptions } from './requeue-order.js';
export { ReplicationRejectedError, SourceGoneError, TargetDownError, isNetworkDownError, isRetryableStatus } from './errors.js';
export { sha256File, type FileDigest } from './fs-util.js';
