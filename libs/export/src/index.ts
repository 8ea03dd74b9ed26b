export {
  EXPORT_QUEUE,
  EXPORT_JOB_NAME,
  EXPORT_JOB_OPTIONS,
  createExportQueue,
  exportsDir,
  exportFilePath,
  isExportJobId,
  type ExportJobData,
  type ExportResult,
  type ExportProgress,
  type ExportQueue,
} from './contract.js';
export { processExport, selectSegments, type ExportDeps } from './process.js';
export { startExportWorker, type ExportWorker } from './worker.js';
