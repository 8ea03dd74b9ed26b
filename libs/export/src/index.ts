export {
  EXPORT_QUEUE,
  EXPORT_JOB_NAME,
  EXPORT_JOB_OPTIONS,
  EXPORT_MAX_AGE_MS,
  createExportQueue,
  exportsDir,
  exportFilePath,
  isExportJobId,
  type ExportJobData,
  type ExportResult,
  type ExportProgress,
  type ExportQueue,
} from './contract.js';
export { processExport, selectSegments, removeOldExports, type ExportDeps } from './process.js';
export { startExportWorker, type ExportWorker } from './worker.js';
