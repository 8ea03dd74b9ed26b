// The read side of off-site copies: list a target's copies, read (decrypt, join) them, restore them
// into a folder (`recorder restore`, `recorder replicas`).
export { joinChunks, type ChunkRange, type JoinPiece, type JoinPlan } from './chunks.js';
export { MAX_SEGMENT_MS, estimatedEnds, selectRange, type TimeRange } from './select.js';
export { groupCopies, type CopyChunk, type CopyEntry, type CopyReader, type ListedCopy, type UnknownCopies } from './copies.js';
export {
  HTTP_REPLICA_LISTING,
  HTTP_REPLICA_RESTORE,
  RestoreError,
  describeReadError,
  listCopies,
  readCopy,
  replicaWhere,
  scanCopies,
  type CopyListing,
  type CopyRead,
  type ListCopiesOptions,
} from './list.js';
export { restoreCopies, restoreCopy, restorePath, type RestoreCheck, type RestoreOptions, type RestoreResult } from './restore.js';
export { summarizeCopies, type CameraCopies } from './summary.js';
