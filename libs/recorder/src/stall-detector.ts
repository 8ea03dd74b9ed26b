/**
 * Decides when a recording ffmpeg is stalled: its progress (frames / output
 * time) has not advanced for `stallMs`, or (as the original bash monitor
 * checked) its CPU stayed below `idleCpuPercent` in every sample over that
 * window. Pure: the caller feeds it times, progress and CPU samples.
 */
export class StallDetector {
  private lastAdvanceAt: number;
  private advancedOnce = false;
  private samples: Array<{ at: number; cpu: number }> = [];

  constructor(
    private readonly stallMs: number,
    private readonly idleCpuPercent: number,
    runStartedAt: number,
    /** Interval between CPU samples (each sample measures the interval before it). */
    private readonly sampleEveryMs = 2000,
  ) {
    this.lastAdvanceAt = runStartedAt;
  }

  /** ffmpeg's output advanced at `now`. */
  advanced(now: number): void {
    this.lastAdvanceAt = now;
    this.advancedOnce = true;
  }

  /** A CPU sample (% of one core) of the ffmpeg process. */
  cpu(now: number, percent: number): void {
    this.samples.push({ at: now, cpu: percent });
    while (this.samples.length && this.samples[0]!.at < now - this.stallMs) this.samples.shift();
  }

  /** True while CPU samples are worth taking (once video flows). */
  get wantsCpu(): boolean {
    return this.advancedOnce;
  }

  /** The stall reason at `now`, or undefined while healthy. */
  check(now: number): string | undefined {
    const secs = Math.round(this.stallMs / 100) / 10;
    const quiet = now - this.lastAdvanceAt;
    if (quiet > this.stallMs) {
      return this.advancedOnce ? `no progress for ${secs}s` : `no video within ${secs}s of starting`;
    }
    // Progress stopped for half the window and ffmpeg does nothing at all in
    // that time (every CPU sample measured wholly after the last frame is ~0):
    // blocked on a silent camera. Found sooner than by the window alone.
    if (this.advancedOnce && quiet > this.stallMs / 2) {
      const after = this.samples.filter((x) => x.at - this.sampleEveryMs >= this.lastAdvanceAt);
      if (after.length >= 2 && after.every((x) => x.cpu < this.idleCpuPercent)) {
        return `no progress for ${Math.round(quiet / 100) / 10}s and CPU idle`;
      }
    }
    const s = this.samples;
    if (
      this.advancedOnce &&
      s.length >= 4 &&
      now - s[0]!.at >= this.stallMs * 0.8 &&
      s.every((x) => x.cpu < this.idleCpuPercent)
    ) {
      return `CPU below ${this.idleCpuPercent}% for ${secs}s`;
    }
    return undefined;
  }
}
