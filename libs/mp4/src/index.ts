// @tapo/mp4: MP4 (ISO BMFF) box-level verify and repair, streaming, without external tools.
export { classifyMp4, type Mp4Classification, type Mp4Kind } from './classify.js';
export type { TopBox } from './box-reader.js';
export type { RepairResult } from './moov-info.js';
export { trimPartialFragment } from './fragment-trim.js';
export { faststart } from './faststart.js';
export { rebuildMoov, type RebuildOptions } from './rebuild-moov.js';
export { checkSamples, type SampleCheck, type GopTimes } from './sample-check.js';
export { Mp4FormatError, LIMITS } from './errors.js';

// Building blocks.
export { parseBoxHeader, childBoxes, findChild, findPath, scanTopLevel, type BoxHeader, type ChildBox, type TopLevelScan } from './box-reader.js';
export { box, fullBox, boxHeader, ByteWriter } from './box-writer.js';
export { parseBox, parseBoxes, walkBoxes, serializeNode, nodeSize, type BoxNode } from './box-tree.js';
export { readChunkOffsets, chunkOffsetNode, relocateChunkOffsets } from './chunk-offsets.js';
export { parseTfhd, serializeTfhd, parseTrun, serializeTrun, readTrun, writeTrun, type Tfhd, type Trun, type TrunSample, type TrunTable } from './trun.js';
export { groupAccessUnits, parseSps, parsePps, parseSliceHeader, type AccessUnit, type ParamSets } from './h264-nal.js';
export { AacFrameParser, parseAudioSpecificConfig, type AudioSpecificConfig } from './aac-frame.js';
export { readReferenceLayout, type ReferenceLayout } from './reference.js';
export { parseAvcC, type AvcConfig } from './sample-entry.js';
