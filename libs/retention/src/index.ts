export {
  planPrune,
  type PruneInput,
  type PrunePlan,
  type PruneCandidate,
  type PlannedDeletion,
  type PruneReason,
  type CameraSegments,
  type CameraPruneSummary,
} from './plan.js';
export { executePrune, diskUsage, type ExecuteOptions, type ExecuteResult } from './execute.js';
