/** Reachability of one replica target, as seen by this process. */
export interface TargetState {
  up: boolean;
  /** When it went down (ms since epoch). */
  downSince?: number;
  /** Last error while down (names the target and URL / folder, never a token). */
  lastError?: string;
  /** Last segment copied or found already there. */
  lastSuccessMs?: number;
}

export interface BackoffRange {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_DOWN_BACKOFF: BackoffRange = { minMs: 1000, maxMs: 30_000 };

/** Wait before probing a down target again: minMs, doubling per consecutive failure, capped at maxMs. */
export function downBackoffMs(consecutiveFailures: number, range: BackoffRange = DEFAULT_DOWN_BACKOFF): number {
  const n = Math.max(1, Math.floor(consecutiveFailures));
  return Math.min(range.maxMs, range.minMs * 2 ** Math.min(n - 1, 30));
}

/**
 * Up/down bookkeeping per target. A target starts up; the first "unreachable"
 * error turns it down (downSince = then), the first success turns it up
 * again. `onChange` hears only these transitions.
 */
export class TargetHealth {
  private readonly states = new Map<string, TargetState & { failures: number }>();

  constructor(
    private readonly onChange?: (targetId: string, state: TargetState) => void,
    private readonly backoff: BackoffRange = DEFAULT_DOWN_BACKOFF,
  ) {}

  get(targetId: string): TargetState {
    const s = this.states.get(targetId);
    if (!s) return { up: true };
    const { failures: _f, ...pub } = s;
    return pub;
  }

  all(): Record<string, TargetState> {
    return Object.fromEntries([...this.states.keys()].map((id) => [id, this.get(id)]));
  }

  private entry(targetId: string) {
    let s = this.states.get(targetId);
    if (!s) {
      s = { up: true, failures: 0 };
      this.states.set(targetId, s);
    }
    return s;
  }

  /** A copy worked. Returns true when the target came back. */
  success(targetId: string, now = Date.now()): boolean {
    const s = this.entry(targetId);
    const was = s.up;
    s.up = true;
    s.failures = 0;
    s.lastSuccessMs = now;
    delete s.downSince;
    if (!was) this.onChange?.(targetId, this.get(targetId));
    return !was;
  }

  /** The target is unreachable. Returns how long to leave it alone. */
  down(targetId: string, error: string, now = Date.now()): number {
    const s = this.entry(targetId);
    const was = s.up;
    s.failures++;
    s.lastError = error;
    if (was) {
      s.up = false;
      s.downSince = now;
      this.onChange?.(targetId, this.get(targetId));
    }
    return downBackoffMs(s.failures, this.backoff);
  }

  forget(targetId: string): void {
    this.states.delete(targetId);
  }
}
