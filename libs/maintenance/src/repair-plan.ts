import type { RepairStep } from '@tapo/queues';

export type FileKind = 'clean' | 'fragmented-clean' | 'fragmented-partial' | 'moov-at-end' | 'no-moov' | 'empty' | 'garbage';

export type RepairDecision =
  | { action: 'none' }
  | { action: 'repair'; steps: RepairStep[]; fallbacks: RepairStep[] }
  | { action: 'unrecoverable'; reason: string };

/**
 * What the chain does with a file of a given kind (pure):
 * - clean / fragmented-clean: nothing (it plays);
 * - fragmented-partial: trim the cut fragment (then remux to a fast-start MP4 if
 *   configured); if trimming fails, remux with ffmpeg;
 * - moov-at-end: move the moov to the front; if that fails, remux;
 * - no-moov: rebuild the moov from a reference segment of the same camera;
 * - empty / garbage: unrecoverable (the original stays).
 */
export function decideRepair(kind: FileKind, opts: { remuxFragmented?: boolean } = {}): RepairDecision {
  switch (kind) {
    case 'clean':
    case 'fragmented-clean':
      return { action: 'none' };
    case 'fragmented-partial':
      return { action: 'repair', steps: opts.remuxFragmented ? ['trim', 'remux'] : ['trim'], fallbacks: ['remux'] };
    case 'moov-at-end':
      return { action: 'repair', steps: ['faststart'], fallbacks: ['remux'] };
    case 'no-moov':
      return { action: 'repair', steps: ['rebuild'], fallbacks: [] };
    case 'empty':
      return { action: 'unrecoverable', reason: 'the file is empty: nothing was written before the recorder stopped' };
    case 'garbage':
      return { action: 'unrecoverable', reason: 'not an MP4 file (no ISO BMFF boxes)' };
  }
}
