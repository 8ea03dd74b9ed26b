export { reconcileRecordJobs, recordJobData, publishDesiredCameras, type ReconcileReport } from './reconcile.js';
export { startScheduler, type Scheduler, type SchedulerOptions } from './scheduler-loop.js';
