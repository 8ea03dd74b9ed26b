export { buildRecordArgs, containerFor, type RecordArgsInput, type AudioMode } from './record-args.js';
export { ProgressParser, progressFromFields, type FfmpegProgress } from './progress.js';
export { SegmentListParser, parseSegmentListLine, type SegmentListEntry } from './segment-list.js';
export { classifyFfmpegError, describeFailure, type FfmpegFailure } from './classify.js';
export { decodeEnds, decodeReport, decodesCleanly, type DecodeReport, type EndsDecode } from './decode-check.js';
