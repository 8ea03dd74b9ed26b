export { LiveFragmentStream, nodeLiveFs, type LiveFragmentStreamOptions, type SubscribeOptions, type LiveStreamStats, type LiveFs, type LiveFileHandle, type LiveLogger } from './live-fragment-stream.js';
export type { LiveEvent, LiveInitEvent, LiveFragmentEvent, LiveGapEvent, LiveSegmentEndEvent, LiveErrorEvent, SegmentEndReason, LiveConsumer } from './events.js';
export type { ConsumerStats } from './consumer-queue.js';
export { FragmentSplitter, DEFAULT_MAX_FRAGMENT_BYTES, type SplitItem } from './splitter.js';
export { parseInit, avcCodecString, hevcCodecString, mp4aCodecString, type InitInfo, type TrackInfo, type TrackKind } from './init.js';
export { parseMoof, isSyncSample, type FragmentInfo } from './fragment.js';
export { BoxFormatError } from './boxes.js';
export { LiveFragmentHub } from './hub.js';
