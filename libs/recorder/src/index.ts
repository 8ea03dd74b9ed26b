export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { startFfmpeg, type FfmpegRun, type FfmpegExit, type FfmpegRunHandlers } from './ffmpeg-process.js';
export {
  CameraRecorder,
  type CameraRecorderOptions,
  type ClosedSegment,
  type InterruptedSegment,
  type OpenedSegment,
  type RecorderSnapshot,
} from './camera-recorder.js';
export { createRecordProcessor, type RecordProcessorDeps, type StopReason } from './record-processor.js';
export { startRecordWorker, RECORD_WORKER_TIMINGS, type RecordWorker, type RecordWorkerOptions } from './record-worker.js';
export { WriterLease, writerKey, workerAliveKey, workerIdOf, jobLockKey, reacquireJobLock } from './writer-lease.js';
export { startDeadWorkerReaper, workerRegistryKey, type ReaperOptions } from './dead-worker-reaper.js';
export { fanOutSegmentEvents, type SegmentEvents } from './segment-events.js';
