export { createBoardApp, type BoardAppOptions } from './app.js';
export { startBoardServer, boardAuthFromEnv, boardNetFromEnv, type BoardServer, type BoardServerOptions } from './server.js';
export { basicAuth, checkExposure, isLoopback, type BoardAuth } from './auth.js';
export { renderStatusPage } from './status-page.js';
export { createApiRouter, parseRange, segmentsOverlapping, type BoardApiDeps } from './api.js';
export { buildSpans, renderTimelinePage, renderPlayPage, renderExportPage, type Span } from './pages.js';
export { resolveRealInside, suspiciousRawPath, validSegmentParts, validSegmentRel, validCameraId } from './paths.js';
export { createBoardMetrics, CAMERA_STATES, type BoardMetrics } from './metrics.js';
