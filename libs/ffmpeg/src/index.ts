export { buildRecordArgs, containerFor, type RecordArgsInput, type AudioMode } from './record-args.js';
export { ProgressParser, progressFromFields, type FfmpegProgress } from './progress.js';
export { SegmentListParser, parseSegmentListLine, type SegmentListEntry } from './segment-list.js';
export { classifyFfmpegError, describeFailure, type FfmpegFailure } from './classify.js';
export { decodeReport, decodesCleanly, type DecodeReport } from './decode-check.js';
