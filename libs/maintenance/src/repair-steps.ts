import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { decodesCleanly } from '@tapo/ffmpeg';
import { classifyMp4, faststart, rebuildMoov, trimPartialFragment, type RepairResult } from '@tapo/mp4';
import type { RepairStep } from '@tapo/queues';
import { isPlayable } from './verify-file.js';

export { decodesCleanly };

/** A temp file beside the original (same filesystem, so the final rename is atomic). */
export function tempPathFor(original: string, step: RepairStep): string {
  return path.join(path.dirname(original), `.${path.basename(original)}.${step}.tmp`);
}

async function remux(input: string, output: string): Promise<RepairResult> {
  const r = await execa(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-err_detect', 'ignore_err', '-i', input, '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-f', input.endsWith('.mov') ? 'mov' : 'mp4', output],
    { reject: false },
  );
  if (r.exitCode !== 0) throw new Error(`ffmpeg remux failed: ${r.stderr.split('\n').slice(-3).join(' | ')}`);
  const c = await classifyMp4(output);
  return { action: 'remux', outputBytes: c.fileBytes, videoSamples: 0, keyframes: 0, audioSamples: 0, droppedBytes: 0, notes: r.stderr ? [r.stderr.slice(0, 500)] : [] };
}

/** Runs one repair step from `input` into `output`. */
export async function runRepairStep(
  step: RepairStep,
  input: string,
  output: string,
  opts: { reference?: string; onProgress?(done: number, total: number): void } = {},
): Promise<RepairResult> {
  switch (step) {
    case 'trim':
      return trimPartialFragment(input, output);
    case 'faststart':
      return faststart(input, output);
    case 'remux':
      return remux(input, output);
    case 'rebuild':
      if (!opts.reference) throw new Error('no reference segment to rebuild from');
      return rebuildMoov(input, output, { reference: opts.reference, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  }
}

/**
 * Replaces `original` by `repaired` only once the repaired file verifies (our
 * box walk says it plays, and ffmpeg decodes it without errors); until then
 * the original stays untouched. The swap is a rename (atomic).
 */
export async function replaceWhenVerified(original: string, repaired: string): Promise<{ replaced: boolean; detail: string }> {
  const c = await classifyMp4(repaired);
  if (!isPlayable(c.kind)) {
    await rm(repaired, { force: true });
    return { replaced: false, detail: `the repaired file does not verify (${c.kind}: ${c.reason})` };
  }
  const dec = await decodesCleanly(repaired);
  if (!dec.ok) {
    await rm(repaired, { force: true });
    return { replaced: false, detail: `the repaired file does not decode cleanly (${dec.detail})` };
  }
  await rename(repaired, original);
  return { replaced: true, detail: `${c.kind}, ${dec.detail}` };
}
