export {
  dayFolderName,
  segmentFileName,
  cameraDir,
  dayDir,
  segmentPath,
  ffmpegSegmentPattern,
  parseSegmentFileName,
  resolveListedSegment,
  resolveInside,
  type SegmentExt,
  type ParsedSegmentName,
} from './naming.js';
export { ensureDayFolders } from './day-folders.js';
export { listSegmentFiles, type SegmentFile } from './list.js';
export { removeFilesOlderThan } from './remove-old-files.js';
