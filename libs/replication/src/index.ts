// @tapo/replication: the sending side of off-site copies. Every closed segment becomes a replicate job per
// target (contract in @tapo/queues); one worker per target puts it there through the ReplicaTarget of its type.
export {
  enqueueReplicas,
  olderThanRetention,
  replicateQueues,
  targetWantsCamera,
  type EnqueueReplicasOptions,
  type ReplicateQueues,
  type SegmentToReplicate,
} from './enqueue-replicas.js';
export { createReplicaTarget, replicaSecrets } from './targets/index.js';
export {
  replicaSegment,
  type PruneSummary,
  type PutOutcome,
  type PutResult,
  type ReplicaSegment,
  type ReplicaTarget,
  type TargetOptions,
  type TargetType,
} from './targets/target.js';
export {
  copyToDirectoryTarget,
  directoryTargetHas,
  directoryNaming,
  directoryTargetPath,
  listTargetSegments,
  planDirectoryPrune,
  pruneDirectoryTarget,
  type DirectoryPruneSummary,
  type LocalSegment,
  type TargetSegment,
} from './targets/directory.js';
export { closeS3Clients, loadS3Sdk, parseS3ObjectKey, plainDigestMac, s3ClientFor, s3Naming, s3ObjectKey, s3Target, type S3Replica, type S3TargetOptions } from './targets/s3.js';
export { displayUrl, httpTarget, uploadToHttpTarget, type HttpSegment, type HttpTargetOptions } from './targets/http.js';
export {
  TargetDownSignal,
  processReplicate,
  startReplicationWorkers,
  type ReplicateContext,
  type ReplicationWorkers,
  type ReplicationWorkersOptions,
} from './replicate-processor.js';
export { REPLICATE_LIMITER, liveReplicationKey, liveStatusOf, recordUsage, replicationKey, replicationUsageKey, replicationStatus, type LiveCameraStatus, type ReplicaTargetStatus } from './status.js';
export { LiveSender, nodeLiveFileReader, type LiveFileReader, type LiveSenderOptions, type LiveSenderStats } from './live-sender.js';
export { LiveHoleError, type LiveAppendResult, type LiveChunk, type LiveFinish, type LiveTarget } from './targets/target.js';
export { DEFAULT_CHUNK_SECONDS, s3LiveTarget } from './targets/s3-live.js';
export { DEFAULT_DOWN_BACKOFF, TargetHealth, downBackoffMs, type BackoffRange, type TargetState } from './target-health.js';
export { RequeueOrder, type RequeueOrderOptions } from './requeue-order.js';
export { ReplicationRejectedError, SourceGoneError, TargetDownError, isNetworkDownError, isRetryableStatus } from './errors.js';
export {
  HTTP_REPLICA_LISTING,
  HTTP_REPLICA_RESTORE,
  MAX_SEGMENT_MS,
  RestoreError,
  describeReadError,
  estimatedEnds,
  groupCopies,
  joinChunks,
  listCopies,
  readCopy,
  replicaWhere,
  restoreCopies,
  restoreCopy,
  restorePath,
  scanCopies,
  selectRange,
  summarizeCopies,
  type CameraCopies,
  type ChunkRange,
  type CopyChunk,
  type CopyEntry,
  type CopyListing,
  type CopyRead,
  type CopyReader,
  type JoinPlan,
  type ListCopiesOptions,
  type RestoreCheck,
  type RestoreOptions,
  type RestoreResult,
  type TimeRange,
} from './restore/index.js';
