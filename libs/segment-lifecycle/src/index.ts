export { SegmentLifecycle, type SegmentLifecycleOptions, type SegmentConsumer, type SegmentRef, type PlayableSegment, type PlayableHow, type IndexWriter } from './lifecycle.js';
export { isPlayable } from './playable-kind.js';
