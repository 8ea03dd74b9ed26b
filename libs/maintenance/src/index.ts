export { runPrune, type PruneSummary } from './prune.js';
export { isPlayable } from './verify-file.js';
export { decideRepair, type RepairDecision, type FileKind } from './repair-plan.js';
export { runRepairStep, replaceWhenVerified, decodesCleanly, tempPathFor } from './repair-steps.js';
export { applyRepairStep, chainNext, chainStart, runRepairChain, type ChainPosition, type ChainEvent, type StepDone } from './repair-chain.js';
export { scanRecordings, type ScanResult } from './scan.js';
export { processVerify, processRepair, processMaintenance, type FileJobDeps, type FileEvent } from './processors.js';
export { startFileWorkers, type FileWorkers, type FileWorkersOptions } from './file-workers.js';
