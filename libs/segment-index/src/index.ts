export { SegmentIndex, type CameraIndexStats } from './segment-index.js';
export { encodeInfo, decodeInfo, type SegmentRecord, type SegmentStatus } from './record.js';
