// Composition (display) order of video samples from their picture order counts, as ctts offsets.

export interface CompositionOffsets {
  /** Per sample, in frames: presentation index − decode index + shift (never negative). */
  offsets: Int32Array;
  /** Frames by which presentation lags decoding (the edit list skips this much media time). */
  shift: number;
}

/**
 * Sorts the pictures of each IDR period (POC restarts at an IDR) by picture order count; the rank
 * gives the presentation slot. Returns undefined when presentation order equals decode order.
 */
export function compositionFromPoc(pocs: Int32Array, idrIndexes: Uint32Array): CompositionOffsets | undefined {
  const n = pocs.length;
  const cts = new Int32Array(n);
  const starts = [0, ...Array.from(idrIndexes).filter((i) => i > 0), n];
  let reordered = false;
  for (let k = 0; k + 1 < starts.length; k++) {
    const a = starts[k]!;
    const b = starts[k + 1]!;
    if (b <= a) continue;
    const order = Array.from({ length: b - a }, (_, i) => a + i).sort((x, y) => pocs[x]! - pocs[y]! || x - y);
    for (let r = 0; r < order.length; r++) {
      cts[order[r]!] = a + r;
      if (order[r] !== a + r) reordered = true;
    }
  }
  if (!reordered) return undefined;
  let shift = 0;
  for (let i = 0; i < n; i++) shift = Math.max(shift, i - cts[i]!);
  const offsets = new Int32Array(n);
  for (let i = 0; i < n; i++) offsets[i] = cts[i]! - i + shift;
  return { offsets, shift };
}
