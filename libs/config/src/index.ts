export { ConfigError } from './errors.js';
export { parseDurationSeconds } from './duration.js';
export { substituteString, MissingVariableError } from './substitute.js';
export {
  CAMERA_ID,
  AudioMode,
  ConfigSchema,
  CameraSchema,
  type CameraConfig,
  type RecorderConfig,
  type RetentionLimits,
  type FreeDiskFloor,
  ALERT_EVENTS,
  REPLICA_ID,
  type AlertEventType,
  type AlertTarget,
  type AlertsConfig,
  type ReplicaConfig,
  type DirectoryReplica,
  type HttpReplica,
  type ReceiveConfig,
  type ReceiveToken,
} from './schema.js';
export { replicaKeyText, type ReplicaEncryption, type S3Replica } from './replicas.js';
export { parseBytes, parseFreeDiskFloor, freeDiskFloorBytes } from './size.js';
export { parseConfig, loadConfigFile, validateConfig, resolveConfigPath, systemFolderProblem, type ConfigLocation } from './load.js';
export { readRuntimeSettings, DEFAULT_REDIS_URL, type RuntimeSettings } from './env.js';
export { fileConfigSource, staticConfigSource, type ConfigSource } from './source.js';
