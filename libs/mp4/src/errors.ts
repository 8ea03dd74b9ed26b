// Errors and limits of the parser: whatever is wrong with a file's contents surfaces as one
// Mp4FormatError with a one-line message naming what is wrong and where, never as a RangeError from a
// Buffer read, a stack overflow or an allocation the size of a forged count.

/** The file's contents are not a valid MP4 (or not one this parser accepts). */
export class Mp4FormatError extends Error {
  override readonly name = 'Mp4FormatError';
  /**
   * true when this wraps an exception the parser should never have let through (a RangeError,
   * TypeError, ...): a bug to fix, reported as a clear error instead of crashing the caller.
   */
  readonly internal: boolean;

  constructor(message: string, opts: { internal?: boolean } = {}) {
    super(message);
    this.internal = opts.internal ?? false;
  }
}

/** Limits on what the parser holds in memory; real recordings stay far below them. */
export const LIMITS = {
  /** Containers nested inside each other (real files: moov/trak/mdia/minf/stbl = 5). */
  maxDepth: 32,
  /** Boxes in one parsed tree (a moov or a moof; real ones hold well under 100). */
  maxBoxes: 100_000,
  /** Top-level boxes of a file (a 60-minute segment with 0.5 s fragments has ~14 400). */
  maxTopLevelBoxes: 200_000,
  /** Size of a moov read into memory (a 60-minute plain recording's is ~1-3 MB). */
  maxMoovBytes: 64 * 1024 * 1024,
  /** Size of a moof read into memory (real ones: a few hundred bytes to a few KB). */
  maxMoofBytes: 16 * 1024 * 1024,
  /** Samples parseTrun expands into objects when the trun has no per-sample fields (the table form has no limit). */
  maxExpandedSamples: 1 << 16,
} as const;

/** An error from the file system (open, read, write), as opposed to one about the contents. */
export function isIoError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * What a parser failure becomes for callers: I/O errors and the library's own errors (Error,
 * Mp4FormatError) pass unchanged; anything else (RangeError, TypeError, a stack overflow, ...) is a
 * parser bug and becomes an internal Mp4FormatError naming where it happened.
 */
export function asMp4Error(e: unknown, where: string): Error {
  if (e instanceof Mp4FormatError || isIoError(e)) return e as Error;
  if (e instanceof Error && e.constructor === Error) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as NodeJS.ErrnoException).code;
  return new Mp4FormatError(`${where}: the file could not be parsed (internal parser error, ${err.name}${code ? ` ${code}` : ''}: ${err.message.split('\n')[0]})`, { internal: true });
}
