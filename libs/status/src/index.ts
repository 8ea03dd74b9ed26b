// @tapo/status: what each camera is doing, read from its record job (state,
// heartbeat), the desired-cameras hash and the segment index. Used by the board
// (pages, /api/cameras, /metrics) and the CLI (`recorder status`).
export { listCameraStatus, type CameraStatus } from './camera-status.js';
