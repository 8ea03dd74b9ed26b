// @tapo/durable-file: writing a file so that it is whole or absent (dot-temp names that no lister takes for a segment, fsync, link into place, never over an existing file) and streamed sha256 digests.
export {
  KeyedMutex,
  PARTIAL_MARK,
  fsyncDir,
  isPartialName,
  partialPathFor,
  placeNoClobber,
  regularFileSize,
  removeStalePartials,
  sha256File,
  unlinkQuiet,
  type FileDigest,
} from './durable-file.js';
