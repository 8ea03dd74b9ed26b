// Which copies overlap a time range. A copy's name gives its start only; its end is taken as the
// next copy's start of the same camera, at most `maxSegmentMs` after its own start. Pure.

/** The longest a segment may be (the config's maximum segment length), as the export assumes. */
export const MAX_SEGMENT_MS = 3600 * 1000;

export interface TimeRange {
  /** Inclusive; undefined: from the oldest. */
  fromMs?: number | undefined;
  /** Exclusive; undefined: to the newest. */
  toMs?: number | undefined;
  /** The longest a segment of this camera may be (default MAX_SEGMENT_MS). */
  maxSegmentMs?: ((cameraId: string) => number) | undefined;
}

/** When a copy ends at the latest: the next start of its camera, or its start + the longest segment. */
export function estimatedEnds<T extends { cameraId: string; startMs: number }>(entries: readonly T[], maxSegmentMs: (cameraId: string) => number = () => MAX_SEGMENT_MS): Map<T, number> {
  const byCamera = new Map<string, T[]>();
  for (const e of entries) {
    const list = byCamera.get(e.cameraId);
    if (list) list.push(e);
    else byCamera.set(e.cameraId, [e]);
  }
  const ends = new Map<T, number>();
  for (const [cameraId, list] of byCamera) {
    const sorted = [...list].sort((a, b) => a.startMs - b.startMs);
    const longest = maxSegmentMs(cameraId);
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i]!;
      let next: number | undefined;
      for (let j = i + 1; j < sorted.length; j++) {
        if (sorted[j]!.startMs > e.startMs) {
          next = sorted[j]!.startMs;
          break;
        }
      }
      ends.set(e, Math.min(next ?? Infinity, e.startMs + longest));
    }
  }
  return ends;
}

/** The copies overlapping [fromMs, toMs), oldest first (per start; same start: by camera). */
export function selectRange<T extends { cameraId: string; startMs: number }>(entries: readonly T[], range: TimeRange): T[] {
  const from = range.fromMs ?? -Infinity;
  const to = range.toMs ?? Infinity;
  const ends = estimatedEnds(entries, range.maxSegmentMs);
  return entries
    .filter((e) => e.startMs < to && ends.get(e)! > from)
    .sort((a, b) => a.startMs - b.startMs || (a.cameraId < b.cameraId ? -1 : a.cameraId > b.cameraId ? 1 : 0));
}
