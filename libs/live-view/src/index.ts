// @tapo/live-view: watching a camera in the browser from the fragments the recorder already writes.
// Worker: LiveViewPublisher (fragments to Redis while a board wants them); board: LiveViewRelay (one
// subscription per watched camera, fanned out) and startViewerStream (one browser's framed stream).
export { FRAME, FRAME_HEADER_BYTES, FrameReader, decodeRelay, encodeFrame, encodeRelay, liveChannel, wantChannel, type FrameKind, type RelayEnvelope, type RelayMessage } from './codec.js';
export { LiveViewPublisher, type LiveViewPublisherOptions } from './publisher.js';
export { LiveViewRelay, type LiveViewRelayOptions, type RelayCameraState, type RelayEvent, type RelayListener } from './relay.js';
export { startViewerStream, type FrameSink, type LiveStatus, type ViewerStreamOptions } from './viewer-stream.js';
export { HlsViews, HlsWindow, type HlsWindowOptions } from './hls.js';
