/**
 * Restart delays for a recording ffmpeg: exponential from `initialMs`, capped at
 * `maxMs`, reset after a run that stayed healthy for `healthyAfterMs`.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  healthyAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  healthyAfterMs: 30_000,
};

export class Backoff {
  private failures = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Delay before the next start, given how long the last run was healthy (recording). */
  next(healthyRunMs: number): number {
    if (healthyRunMs >= this.opts.healthyAfterMs) this.failures = 0;
    const delay = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.factor ** this.failures);
    this.failures++;
    return delay;
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
