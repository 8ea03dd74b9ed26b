import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { RecorderConfig } from '@tapo/config';
import { classifyMp4 } from '@tapo/mp4';
import type { Logger } from '@tapo/log';
import {
  REPAIR_JOB_NAME,
  VERIFY_JOB_OPTIONS,
  type PruneJobData,
  type RepairJobData,
  type RepairStep,
  type VerifyJobData,
} from '@tapo/queues';
import type { SegmentIndex } from '@tapo/segment-index';
import { parseSegmentFileName, resolveInside } from '@tapo/storage';
import { runPrune } from './prune.js';
import { decideRepair } from './repair-plan.js';
import { replaceWhenVerified, runRepairStep, tempPathFor } from './repair-steps.js';
import { scanRecordings } from './scan.js';
import type { PruneSummary } from './prune.js';
import { verifyAndIndex } from './verify-file.js';

export interface FileJobDeps {
  getConfig(): RecorderConfig;
  index: SegmentIndex;
  /** The queue follow-up repair jobs go to (this host's, with storage: local). */
  repairQueue: Queue;
  hostname: string;
  logger: Logger;
  /** Adds to the install's event counters (for /metrics). */
  count?(field: string, by: number): Promise<void>;
  /** Things worth an alert (segment unrecoverable, a prune and the disk state after it). */
  onEvent?(e: FileEvent): void;
}

export type FileEvent =
  | { type: 'unrecoverable'; cameraId: string; file: string; reason: string }
  | { type: 'pruned'; trigger: string; emergency: boolean; summary: PruneSummary }
  /** A segment that did not close cleanly turned out playable, or was repaired: it can be replicated now. */
  | { type: 'playable'; cameraId: string; file: string; host: string };

async function log(job: Job, line: string): Promise<void> {
  await job.log(`${new Date().toISOString()} ${line}`).catch(() => {});
}

function locate(config: RecorderConfig, file: string): string {
  const abs = resolveInside(config.recordingsDir, file);
  if (!abs || file.includes('\0')) throw new UnrecoverableError(`${file} is outside recordingsDir (${config.recordingsDir}): refused`);
  return abs;
}

function repairJobId(data: VerifyJobData, step: RepairStep): string {
  return `repair-${data.cameraId}-${path.basename(data.file).replace(/[^A-Za-z0-9_.-]/g, '_')}-${step}-${Date.now()}`;
}

async function findReference(deps: FileJobDeps, data: VerifyJobData, abs: string): Promise<string | undefined> {
  const config = deps.getConfig();
  if (data.reference) {
    const ref = resolveInside(config.recordingsDir, data.reference) ?? (path.isAbsolute(data.reference) ? data.reference : undefined);
    if (!ref) throw new UnrecoverableError(`reference ${data.reference} is outside recordingsDir`);
    return ref;
  }
  const start = parseSegmentFileName(path.basename(abs))?.start.getTime() ?? Date.now();
  const rec = (await deps.index.previousGood(data.cameraId, start)) ?? (await deps.index.nextGood(data.cameraId, start));
  if (!rec) return undefined;
  const ref = path.join(config.recordingsDir, rec.file);
  try {
    await access(ref);
    return ref;
  } catch {
    return undefined;
  }
}

/** `verify`: classify the file; index it if it plays; else start the repair chain or mark it unrecoverable. */
export async function processVerify(deps: FileJobDeps, job: Job<VerifyJobData>): Promise<unknown> {
  const data = job.data;
  const config = deps.getConfig();
  const abs = locate(config, data.file);
  await log(job, `verify ${data.file} (reported: ${data.reason})`);
  const c = await classifyMp4(abs);
  await log(job, `found: ${c.kind} (${c.reason})`);
  const decision = decideRepair(c.kind, { remuxFragmented: config.repair.remuxFragmented });
  if (decision.action === 'none') {
    await verifyAndIndex({ index: deps.index, recordingsDir: config.recordingsDir, cameraId: data.cameraId, file: data.file, host: data.host, status: 'ok' });
    await log(job, 'plays as it is: indexed as ok');
    deps.onEvent?.({ type: 'playable', cameraId: data.cameraId, file: data.file, host: data.host });
    return { kind: c.kind, action: 'none' };
  }
  if (decision.action === 'unrecoverable') {
    await verifyAndIndex({ index: deps.index, recordingsDir: config.recordingsDir, cameraId: data.cameraId, file: data.file, host: data.host, status: 'unrecoverable' });
    await deps.count?.('repair:unrecoverable', 1);
    await log(job, `unrecoverable: ${decision.reason}; the original stays`);
    deps.onEvent?.({ type: 'unrecoverable', cameraId: data.cameraId, file: data.file, reason: decision.reason });
    return { kind: c.kind, action: 'unrecoverable', reason: decision.reason };
  }
  await verifyAndIndex({ index: deps.index, recordingsDir: config.recordingsDir, cameraId: data.cameraId, file: data.file, host: data.host, status: 'pending' });
  const [first, ...then] = decision.steps;
  const next: RepairJobData = { ...data, step: first!, found: `${c.kind}: ${c.reason}`, fallbacks: decision.fallbacks, ...(then.length ? { then } : {}) };
  await deps.repairQueue.add(REPAIR_JOB_NAME, next, { ...VERIFY_JOB_OPTIONS, jobId: repairJobId(data, first!) });
  await log(job, `next: repair step "${first}"${then.length ? ` then ${then.join(', ')}` : ''}`);
  return { kind: c.kind, action: 'repair', step: first };
}

/** `repair`: one step of the chain; on failure, the next fallback; the original stays until the result verifies. */
export async function processRepair(deps: FileJobDeps, job: Job<RepairJobData>): Promise<unknown> {
  const data = job.data;
  const config = deps.getConfig();
  const abs = locate(config, data.file);
  await log(job, `repair ${data.file}: step ${data.step} (found ${data.found})`);
  let reference: string | undefined;
  if (data.step === 'rebuild') {
    reference = await findReference(deps, data, abs);
    if (!reference) {
      await log(job, `no reference segment for camera ${data.cameraId} yet: will fail and can be retried (or run: recorder repair ${data.file} --reference <good file>)`);
      throw new Error(`no reference segment for camera ${data.cameraId}: retry once it has recorded a good segment, or give one with --reference`);
    }
    await log(job, `reference: ${path.relative(config.recordingsDir, reference)}`);
  }
  const tmp = tempPathFor(abs, data.step);
  try {
    const result = await runRepairStep(data.step, abs, tmp, {
      ...(reference ? { reference } : {}),
      onProgress: (done, total) => void job.updateProgress(Math.round((done / Math.max(1, total)) * 100)).catch(() => {}),
    });
    for (const n of result.notes) await log(job, `note: ${n}`);
    const swap = await replaceWhenVerified(abs, tmp);
    if (!swap.replaced) throw new Error(swap.detail);
    await log(job, `${data.step} done: ${result.videoSamples} video frames (${result.keyframes} keyframes), ${result.audioSamples} audio frames, ${result.droppedBytes} bytes dropped; replaced the original (${swap.detail})`);
    await verifyAndIndex({ index: deps.index, recordingsDir: config.recordingsDir, cameraId: data.cameraId, file: data.file, host: data.host, status: 'repaired' });
    await deps.count?.('repair:repaired', 1);
    const then = data.then ?? [];
    if (!then.length) deps.onEvent?.({ type: 'playable', cameraId: data.cameraId, file: data.file, host: data.host });
    if (then.length) {
      const [nextStep, ...more] = then;
      await deps.repairQueue.add(REPAIR_JOB_NAME, { ...data, step: nextStep!, then: more, fallbacks: [] }, { ...VERIFY_JOB_OPTIONS, jobId: repairJobId(data, nextStep!) });
      await log(job, `then: ${nextStep}`);
    }
    return { step: data.step, ...result, replaced: true };
  } catch (e) {
    await rm(tmp, { force: true });
    const why = (e as Error).message;
    await log(job, `step ${data.step} failed: ${why}`);
    const [fallback, ...others] = data.fallbacks;
    if (fallback) {
      await deps.repairQueue.add(REPAIR_JOB_NAME, { ...data, step: fallback, fallbacks: others }, { ...VERIFY_JOB_OPTIONS, jobId: repairJobId(data, fallback) });
      await log(job, `moving on to: ${fallback}`);
      return { step: data.step, failed: why, next: fallback };
    }
    if (data.step === 'rebuild' && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw e;
    await verifyAndIndex({ index: deps.index, recordingsDir: config.recordingsDir, cameraId: data.cameraId, file: data.file, host: data.host, status: 'unrecoverable' }).catch(() => {});
    await deps.count?.('repair:unrecoverable', 1);
    await log(job, `unrecoverable: ${why}; the original stays`);
    deps.onEvent?.({ type: 'unrecoverable', cameraId: data.cameraId, file: data.file, reason: why });
    throw new Error(`unrecoverable: ${why}`);
  }
}

/** `prune` and `scan` jobs of the maintenance queue. */
export async function processMaintenance(
  deps: FileJobDeps & { onlyHost?: string },
  job: Job<PruneJobData & { rebuild?: boolean; cameras?: string[] }>,
): Promise<unknown> {
  const config = deps.getConfig();
  if (job.name === 'prune') {
    const res = await runPrune({ config, index: deps.index, dryRun: !!job.data.dryRun, ...(deps.onlyHost ? { onlyHost: deps.onlyHost } : {}), ...(deps.count ? { count: deps.count } : {}) });
    if (res.deleted) await log(job, `${job.data.trigger ?? 'prune'}: deleted ${res.deleted} segment(s), ${res.bytes} bytes (${JSON.stringify(res.byReason)})`);
    if (res.floorUnreachable) await log(job, 'free-disk floor cannot be reached by deleting segments');
    if (res.deleted) deps.logger.info({ deleted: res.deleted, bytes: res.bytes, byReason: res.byReason }, `prune deleted ${res.deleted} segment(s)`);
    if (!res.dryRun) deps.onEvent?.({ type: 'pruned', trigger: job.data.trigger ?? 'prune', emergency: false, summary: res });
    return res;
  }
  if (job.name === 'scan') {
    const res = await scanRecordings({
      config,
      index: deps.index,
      host: deps.hostname,
      rebuild: !!job.data.rebuild,
      ...(job.data.cameras ? { cameras: job.data.cameras } : {}),
      enqueueVerify: async (cameraId, file, reason) => {
        const name = path.basename(file).replace(/[^A-Za-z0-9_.-]/g, '_');
        await deps.repairQueue.add('verify', { cameraId, file, host: deps.hostname, reason, reportedAt: new Date().toISOString() }, { ...VERIFY_JOB_OPTIONS, jobId: `verify-${cameraId}-${name}` });
      },
    });
    await log(job, `scan: ${res.indexed} file(s) indexed, ${res.known} already known, ${res.broken} sent to verify`);
    return res;
  }
  throw new UnrecoverableError(`unknown maintenance job "${job.name}"`);
}
