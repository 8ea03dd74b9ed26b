// What a consumer of a live fragment stream receives.
import type { TrackInfo } from './init.js';

/**
 * The init section of a segment: append it to a SourceBuffer before the fragments that follow.
 * Sent when a consumer starts, at every new segment, and again after a gap.
 */
export interface LiveInitEvent {
  type: 'init';
  /** Absolute path of the segment file, as passed to segmentOpened. */
  segment: string;
  /** ftyp + moov bytes, exactly as in the file. Shared by every consumer: do not modify. */
  bytes: Buffer;
  tracks: TrackInfo[];
  videoTrackId: number | undefined;
  /** Codec strings, video first: ['avc1.640028', 'mp4a.40.2']. */
  codecs: string[];
  /** 'video/mp4; codecs="avc1.640028, mp4a.40.2"'. */
  mimeType: string;
  /**
   * Why this consumer gets an init now: 'start' (its first), 'segment' (a new segment file began),
   * 'resync' (after a gap).
   */
  reason: 'start' | 'segment' | 'resync';
  /**
   * The codec configuration differs from the previous init this consumer received (always true
   * for its first). MSE needs the init appended only when this is true; a copy of the file needs
   * it for every segment.
   */
  configChanged: boolean;
  /** Wall clock (ms) when the stream read it. */
  seenAt: number;
}

/** One complete moof+mdat fragment, as soon as it is on disk. */
export interface LiveFragmentEvent {
  type: 'fragment';
  /** Absolute path of the segment file. */
  segment: string;
  /** Byte offset of the moof in that file. */
  offset: number;
  /** moof through mdat, exactly as in the file. Shared by every consumer: do not modify. */
  bytes: Buffer;
  /** The fragment starts with a video keyframe: a decoder (or a consumer after a gap) can start here. */
  keyframe: boolean;
  /** mfhd sequence number. */
  sequence: number;
  /** Track the times are of (the video track when the fragment has one). */
  trackId: number;
  /** Units per second of decodeTime and duration. */
  timescale: number;
  /**
   * tfdt of that track, in its timescale. Segments are written with -reset_timestamps, so this
   * restarts near 0 in every segment: MSE players should use SourceBuffer.mode = 'sequence' (or
   * move timestampOffset at each 'segment' init).
   */
  decodeTime: number;
  /** Sum of the track's sample durations in this fragment, in its timescale. */
  duration: number;
  decodeTimeMs: number;
  durationMs: number;
  /** Wall clock (ms) when the stream found the fragment complete on disk. */
  seenAt: number;
}

/**
 * Fragments this consumer did not get because it was too slow (its queue was full). The next
 * events are an init (reason 'resync') and a keyframe fragment.
 */
export interface LiveGapEvent {
  type: 'gap';
  droppedFragments: number;
  droppedBytes: number;
  /** Other events dropped with them (segment ends, errors, inits). */
  droppedNotices: number;
  /** Wall clock (ms) of the first dropped event. */
  since: number;
  seenAt: number;
}

export type SegmentEndReason =
  /** ffmpeg closed it (segmentClosed) and every complete fragment was delivered. */
  | 'closed'
  /** A newer segment was opened; this one was read to its end first. */
  | 'switched'
  /** The file was deleted (prune) or replaced while being followed. */
  | 'deleted'
  /** The file became shorter than what was read. */
  | 'truncated'
  /** Its bytes are not a fragmented MP4 we can follow (an 'error' event said why). */
  | 'error'
  /** The file never appeared, or could not be opened or read. */
  | 'missing';

/** Nothing more will come from this segment file. */
export interface LiveSegmentEndEvent {
  type: 'segment-end';
  segment: string;
  reason: SegmentEndReason;
  /** Bytes of the file read. */
  bytesRead: number;
  /** Bytes at the end that did not make a complete fragment (a cut box), 0 normally. */
  incompleteBytes: number;
  seenAt: number;
}

/** The stream stopped following a segment because of what it found (followed by its segment-end). */
export interface LiveErrorEvent {
  type: 'error';
  segment: string;
  /** File offset of the offending box, when it is about one. */
  offset: number | undefined;
  message: string;
  seenAt: number;
}

export type LiveEvent = LiveInitEvent | LiveFragmentEvent | LiveGapEvent | LiveSegmentEndEvent | LiveErrorEvent;

/**
 * Receives a consumer's events in order. When it returns a promise, the next event waits for it
 * (that is the consumer's backpressure: resolve when the bytes are sent); events arriving meanwhile
 * queue up to the consumer's maxQueuedBytes, then are dropped. A throw or rejection unsubscribes
 * the consumer.
 */
export type LiveConsumer = (event: LiveEvent) => void | PromiseLike<void>;

/** Bytes an event counts for in a consumer's queue (notices count a nominal 256). */
export function eventBytes(e: LiveEvent): number {
  return e.type === 'fragment' || e.type === 'init' ? e.bytes.length : 256;
}
