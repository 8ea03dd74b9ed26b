// The export queue's contract (names, data, result, options, ids) is in @tapo/queues.
export { EXPORT_MAX_AGE_MS, exportsDir, exportFilePath } from './export-files.js';
export { processExport, selectSegments, removeOldExports, type ExportDeps } from './process.js';
export { startExportWorker, type ExportWorker, type ExportWorkerOptions } from './worker.js';
