import { access } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { RecorderConfig } from '@tapo/config';
import { classifyMp4 } from '@tapo/mp4';
import type { Logger } from '@tapo/log';
import {
  REPAIR_JOB_NAME,
  VERIFY_JOB_OPTIONS,
  repairJobId,
  type PruneJobData,
  type RepairJobData,
  type VerifyJobData,
} from '@tapo/queues';
import type { SegmentIndex } from '@tapo/segment-index';
import type { SegmentLifecycle } from '@tapo/segment-lifecycle';
import { parseSegmentFileName, resolveInside } from '@tapo/storage';
import { runPrune } from './prune.js';
import { decideRepair } from './repair-plan.js';
import { applyRepairStep, chainNext, chainStart } from './repair-chain.js';
import { scanRecordings } from './scan.js';
import type { PruneSummary } from './prune.js';

export interface FileJobDeps {
  getConfig(): RecorderConfig;
  /** Reads (reference segments, prune); writes go through `segments`. */
  index: SegmentIndex;
  /** The process's segment lifecycle: indexes results and hands playable segments to its consumers. */
  segments: SegmentLifecycle;
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
  | { type: 'pruned'; trigger: string; emergency: boolean; summary: PruneSummary };

async function log(job: Job, line: string): Promise<void> {
  await job.log(`${new Date().toISOString()} ${line}`).catch(() => {});
}

function locate(config: RecorderConfig, file: string): string {
  const abs = resolveInside(config.recordingsDir, file);
  if (!abs || file.includes('\0')) throw new UnrecoverableError(`${file} is outside recordingsDir (${config.recordingsDir}): refused`);
  return abs;
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
  const ref = { cameraId: data.cameraId, file: data.file, host: data.host };
  if (decision.action === 'none') {
    await deps.segments.playable({ ...ref, how: 'verified', status: 'ok', bytes: c.fileBytes });
    await log(job, 'plays as it is: indexed as ok');
    return { kind: c.kind, action: 'none' };
  }
  if (decision.action === 'unrecoverable') {
    await deps.segments.setStatus(ref, 'unrecoverable');
    await deps.count?.('repair:unrecoverable', 1);
    await log(job, `unrecoverable: ${decision.reason}; the original stays`);
    deps.onEvent?.({ type: 'unrecoverable', cameraId: data.cameraId, file: data.file, reason: decision.reason });
    return { kind: c.kind, action: 'unrecoverable', reason: decision.reason };
  }
  await deps.segments.setStatus(ref, 'pending');
  const first = chainStart(decision)!;
  const next: RepairJobData = { ...data, step: first.step, found: `${c.kind}: ${c.reason}`, fallbacks: first.fallbacks, ...(first.then.length ? { then: first.then } : {}) };
  await deps.repairQueue.add(REPAIR_JOB_NAME, next, { ...VERIFY_JOB_OPTIONS, jobId: repairJobId(data, first.step) });
  await log(job, `next: repair step "${first.step}"${first.then.length ? ` then ${first.then.join(', ')}` : ''}`);
  return { kind: c.kind, action: 'repair', step: first.step };
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
  const ref = { cameraId: data.cameraId, file: data.file, host: data.host };
  const at = { step: data.step, then: data.then ?? [], fallbacks: data.fallbacks };
  try {
    const { result, detail } = await applyRepairStep(data.step, abs, abs, {
      fullDecode: config.repair.fullDecode,
      ...(reference ? { reference } : {}),
      onProgress: (done, total) => void job.updateProgress(Math.round((done / Math.max(1, total)) * 100)).catch(() => {}),
    });
    for (const n of result.notes) await log(job, `note: ${n}`);
    await log(job, `${data.step} done: ${result.videoSamples} video frames (${result.keyframes} keyframes), ${result.audioSamples} audio frames, ${result.droppedBytes} bytes dropped; replaced the original (${detail})`);
    await deps.count?.('repair:repaired', 1);
    const next = chainNext(at, true);
    if (next) {
      await deps.segments.setStatus(ref, 'pending');
      await deps.repairQueue.add(REPAIR_JOB_NAME, { ...data, step: next.step, then: next.then, fallbacks: next.fallbacks }, { ...VERIFY_JOB_OPTIONS, jobId: repairJobId(data, next.step) });
      await log(job, `then: ${next.step}`);
    } else await deps.segments.playable({ ...ref, how: 'repaired', status: 'repaired' });
    return { step: data.step, ...result, replaced: true };
  } catch (e) {
    const why = (e as Error).message;
    await log(job, `step ${data.step} failed: ${why}`);
    const next = chainNext(at, false);
    if (next) {
      await deps.repairQueue.add(REPAIR_JOB_NAME, { ...data, step: next.step, then: next.then, fallbacks: next.fallbacks }, { ...VERIFY_JOB_OPTIONS, jobId: repairJobId(data, next.step) });
      await log(job, `moving on to: ${next.step}`);
      return { step: data.step, failed: why, next: next.step };
    }
    if (data.step === 'rebuild' && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw e;
    await deps.segments.setStatus(ref, 'unrecoverable').catch(() => {});
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
      segments: deps.segments,
      host: deps.hostname,
      rebuild: !!job.data.rebuild,
      ...(job.data.cameras ? { cameras: job.data.cameras } : {}),
    });
    await log(job, `scan: ${res.indexed} file(s) indexed, ${res.known} already known, ${res.broken} sent to verify`);
    return res;
  }
  throw new UnrecoverableError(`unknown maintenance job "${job.name}"`);
}
