// Joining the live chunks of a segment that was still being recorded when it was copied: each chunk
// holds bytes [offset, end) of the segment file; chunks may overlap (a sender that restarted
// mid-segment resends from 0; overlapping bytes are the same) or repeat. Pure: which chunks to read,
// which bytes of each to keep, where the first hole is.

/** What the planning needs of a chunk (names and sizes ride along in `T`). */
export interface ChunkRange {
  /** First byte of the segment file the chunk holds. */
  offset: number;
  /** One past its last byte. */
  end: number;
}

/** Bytes [from, to) of the segment file, taken from `chunk` (at `from - chunk.offset` in its plaintext). */
export interface JoinPiece<T extends ChunkRange> {
  chunk: T;
  from: number;
  to: number;
}

export interface JoinPlan<T extends ChunkRange> {
  /** In file order, contiguous from 0: piece i ends where piece i+1 starts. */
  pieces: JoinPiece<T>[];
  /** Bytes the pieces give, contiguous from 0 (0 when no chunk starts at 0). */
  bytes: number;
  /** The first bytes no chunk holds, when a chunk exists beyond them (`to`: where the next chunk starts). */
  hole?: { from: number; to: number };
  /** Chunks whose bytes the pieces already hold (repeats, resends, chunks inside longer ones). */
  redundant: T[];
  /** Chunks beyond the hole (not used: the joined file stops at the hole). */
  beyondHole: T[];
}

/**
 * The fewest chunks that cover the segment from byte 0 as far as the chunks reach without a hole
 * (greedy interval cover: at each point, the chunk starting there or before that reaches furthest).
 * Chunks that are not needed are `redundant`; the bytes after the first hole are not used (a
 * fragmented MP4 plays up to its last complete fragment, and bytes after a gap cannot be placed).
 */
export function joinChunks<T extends ChunkRange>(chunks: readonly T[]): JoinPlan<T> {
  for (const c of chunks) {
    if (!Number.isSafeInteger(c.offset) || !Number.isSafeInteger(c.end) || c.offset < 0 || c.end <= c.offset) {
      throw new Error(`bad chunk range ${c.offset}-${c.end}`);
    }
  }
  const sorted = [...chunks].sort((a, b) => a.offset - b.offset || b.end - a.end);
  const pieces: JoinPiece<T>[] = [];
  const used = new Set<T>();
  let covered = 0;
  let i = 0;
  let hole: { from: number; to: number } | undefined;
  while (i < sorted.length) {
    // Among the chunks that start at or before `covered`, the one reaching furthest.
    let best: T | undefined;
    while (i < sorted.length && sorted[i]!.offset <= covered) {
      const c = sorted[i]!;
      if (c.end > covered && (!best || c.end > best.end)) best = c;
      i++;
    }
    if (!best) {
      if (i < sorted.length) hole = { from: covered, to: sorted[i]!.offset };
      break;
    }
    pieces.push({ chunk: best, from: covered, to: best.end });
    used.add(best);
    covered = best.end;
  }
  const beyondHole = hole ? sorted.filter((c) => c.offset >= hole.to) : [];
  const beyond = new Set(beyondHole);
  const redundant = sorted.filter((c) => !used.has(c) && !beyond.has(c));
  return { pieces, bytes: covered, ...(hole ? { hole } : {}), redundant, beyondHole };
}
