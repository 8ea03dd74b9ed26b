export {
  formatAlert,
  alertSubject,
  isRecoveryEvent,
  type AlertEvent,
  type AlertDetailsByType,
  type AlertPriority,
  type DiskDetails,
  type FormattedAlert,
} from './alert-event.js';
export { formatBytes, formatDuration, formatUtcTime } from './format-units.js';
export {
  NOTIFY_JOB_OPTIONS,
  NOTIFY_TIMEOUT_MS,
  buildNotifyRequest,
  createNotifyProcessor,
  createNotifyQueue,
  deliverAlert,
  describeTargetUrl,
  startNotifyWorker,
  type NotifyJobData,
  type NotifyProcessorDeps,
  type NotifyQueue,
  type NotifyRequest,
  type NotifyResult,
  type NotifyWorker,
  type NotifyWorkerOptions,
} from './notify-processor.js';
export {
  Alerter,
  alertLastKey,
  alertStateKey,
  notifyJobId,
  type AlerterOptions,
  type RaiseResult,
  type StoredAlertState,
} from './alerter.js';
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
export { startAlerting, type Alerting } from './alerting.js';
