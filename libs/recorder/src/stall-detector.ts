/**
 * Decides when a recording ffmpeg is stalled: its progress (frames / output
 * time) has not advanced for `stallMs`; or, sooner, progress stopped for half
 * that window and ffmpeg's CPU (the original bash monitor's signal) has been
 * idle in every sample measured wholly after the last frame: it is blocked on
 * a silent camera. Pure: the caller feeds it times, progress and CPU samples.
 *
 * CPU is only worth sampling once progress has stopped (`wantsCpu`), so a
 * healthy recording costs no CPU sampling at all.
 */
export class StallDetector {
  private lastAdvanceAt: number;
  private advancedOnce = false;
  private samples: Array<{ from: number; at: number; cpu: number }> = [];

  constructor(
    private readonly stallMs: number,
    private readonly idleCpuPercent: number,
    runStartedAt: number,
    /** Progress quiet for this long before CPU samples are wanted. */
    private readonly quietBeforeSamplingMs = 1000,
  ) {
    this.lastAdvanceAt = runStartedAt;
  }

  /** ffmpeg's output advanced at `now`. */
  advanced(now: number): void {
    this.lastAdvanceAt = now;
    this.advancedOnce = true;
    this.samples.length = 0;
  }

  /** A CPU sample (% of one core) of the ffmpeg process, measured over [from, at]. */
  cpu(from: number, at: number, percent: number): void {
    this.samples.push({ from, at, cpu: percent });
    while (this.samples.length > 32) this.samples.shift();
  }

  /** True while CPU samples are worth taking: video flowed, then stopped. */
  wantsCpu(now: number): boolean {
    return this.advancedOnce && now - this.lastAdvanceAt >= this.quietBeforeSamplingMs;
  }

  /** The stall reason at `now`, or undefined while healthy. */
  check(now: number): string | undefined {
    const secs = Math.round(this.stallMs / 100) / 10;
    const quiet = now - this.lastAdvanceAt;
    if (quiet > this.stallMs) {
      return this.advancedOnce ? `no progress for ${secs}s` : `no video within ${secs}s of starting`;
    }
    if (this.advancedOnce && quiet > this.stallMs / 2) {
      const after = this.samples.filter((x) => x.from >= this.lastAdvanceAt);
      if (after.length >= 2 && after.every((x) => x.cpu < this.idleCpuPercent)) {
        return `no progress for ${Math.round(quiet / 100) / 10}s and CPU idle`;
      }
    }
    return undefined;
  }
}
