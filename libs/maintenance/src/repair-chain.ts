import { rm } from 'node:fs/promises';
import type { RepairResult } from '@tapo/mp4';
import type { RepairStep } from '@tapo/queues';
import type { RepairDecision } from './repair-plan.js';
import { replaceWhenVerified, runRepairStep, tempPathFor } from './repair-steps.js';

/** Where the chain stands: the step to run, what follows it, what to try instead if it fails. */
export interface ChainPosition {
  step: RepairStep;
  then: RepairStep[];
  fallbacks: RepairStep[];
}

/** The first position of a repair decision (undefined: nothing to run). */
export function chainStart(decision: RepairDecision): ChainPosition | undefined {
  if (decision.action !== 'repair') return undefined;
  const [step, ...then] = decision.steps;
  return step ? { step, then, fallbacks: [...decision.fallbacks] } : undefined;
}

/**
 * The next position after a step (pure): on success the next step of `then`
 * (fallbacks do not carry over: they stood in for the step that succeeded);
 * on failure the next fallback. Undefined: the chain is over (done, or every
 * step failed).
 */
export function chainNext(at: ChainPosition, ok: boolean): ChainPosition | undefined {
  if (ok) {
    const [step, ...then] = at.then;
    return step ? { step, then, fallbacks: [] } : undefined;
  }
  const [step, ...fallbacks] = at.fallbacks;
  return step ? { step, then: at.then, fallbacks } : undefined;
}

export interface StepDone {
  result: RepairResult;
  /** How the output verified (classification, decode check). */
  detail: string;
}

/**
 * Runs one step from `input` into a temp file beside `dest`, and renames it
 * over `dest` only once it verifies; on any failure the temp file is removed
 * and `dest` (and `input`) stay as they were.
 */
export async function applyRepairStep(
  step: RepairStep,
  input: string,
  dest: string,
  opts: { reference?: string; onProgress?(done: number, total: number): void; fullDecode?: boolean } = {},
): Promise<StepDone> {
  const tmp = tempPathFor(dest, step);
  try {
    const result = await runRepairStep(step, input, tmp, opts);
    const swap = await replaceWhenVerified(dest, tmp, { fullDecode: !!opts.fullDecode });
    if (!swap.replaced) throw new Error(swap.detail);
    return { result, detail: swap.detail };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export type ChainEvent =
  | { type: 'done'; step: RepairStep; done: StepDone }
  | { type: 'failed'; step: RepairStep; error: string; next: RepairStep | undefined };

/**
 * The whole chain in this process (the CLI): each step reads the previous
 * step's output. `dest` defaults to the input itself. Returns whether every
 * needed step succeeded (on false the input is unchanged, unless an earlier
 * step already replaced it with a better file).
 */
export async function runRepairChain(
  input: string,
  decision: RepairDecision,
  opts: { dest?: string; reference?: string; fullDecode?: boolean; onProgress?(done: number, total: number): void; onEvent?(e: ChainEvent): void } = {},
): Promise<boolean> {
  const dest = opts.dest ?? input;
  let from = input;
  let at = chainStart(decision);
  if (!at) return decision.action === 'none';
  for (;;) {
    const here: ChainPosition = at;
    try {
      const done = await applyRepairStep(here.step, from, dest, { fullDecode: !!opts.fullDecode, ...(opts.reference ? { reference: opts.reference } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
      opts.onEvent?.({ type: 'done', step: here.step, done });
      from = dest;
      at = chainNext(here, true);
      if (!at) return true;
    } catch (e) {
      at = chainNext(here, false);
      opts.onEvent?.({ type: 'failed', step: here.step, error: (e as Error).message, next: at?.step });
      if (!at) return false;
    }
  }
}
