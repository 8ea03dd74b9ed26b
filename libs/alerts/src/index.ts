// The notify queue's contract (the AlertEvent it carries, job data, result, options, ids) is in @tapo/queues.
export { formatAlert, isRecoveryEvent, type AlertPriority, type FormattedAlert } from './alert-event.js';
export { formatBytes, formatDuration, formatUtcTime } from './format-units.js';
export {
  NOTIFY_TIMEOUT_MS,
  buildNotifyRequest,
  createNotifyProcessor,
  deliverAlert,
  describeTargetUrl,
  startNotifyWorker,
  type NotifyProcessorDeps,
  type NotifyRequest,
  type NotifyWorker,
  type NotifyWorkerOptions,
} from './notify-processor.js';
export { Alerter, alertLastKey, alertStateKey, type AlerterOptions, type RaiseResult, type StoredAlertState } from './raise-alerts.js';
export {
  decideCameraHealth,
  type CameraHealthDecision,
  type CameraHealthInput,
  type CameraHealthMemory,
  type CameraHealthState,
  type CameraProgress,
} from './camera-health.js';
export {
  cameraSubject,
  createCameraHealthCheck,
  startCameraHealthMonitor,
  type CameraHealthCheckOptions,
  type CameraHealthMonitorOptions,
} from './camera-health-monitor.js';
export { startAlerting, type Alerting, type FileAlertInput } from './start-alerting.js';
