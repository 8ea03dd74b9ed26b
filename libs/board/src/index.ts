export { createBoardApp, type BoardAppOptions } from './app.js';
export { startBoardServer, boardAuthFromEnv, type BoardServer, type BoardServerOptions } from './server.js';
export { listCameraStatus, type CameraStatus } from './cameras-api.js';
export { basicAuth, checkExposure, isLoopback, type BoardAuth } from './auth.js';
export { renderStatusPage } from './status-page.js';
