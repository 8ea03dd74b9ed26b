export interface RequeueOrderOptions {
  /** Called before a batch of parked jobs is released (sets the queue's rate limit). */
  beforeRelease(): Promise<void>;
  /** True once BullMQ has moved the job back to wait. */
  isBack(jobId: string): Promise<boolean>;
  /** A parked job is released at the latest this long after parking, even if others still run. Default 5 s. */
  maxParkMs?: number;
  /** Longest wait for one released job to be back in wait before releasing the next. Default 2 s. */
  maxWaitBackMs?: number;
  pollMs?: number;
}

interface Flight {
  startMs: number;
  parkedAt?: number;
  release?: () => void;
}

/**
 * Keeps the LIFO order of a queue when its target goes down while several
 * jobs run at once. A job rate-limited back to wait goes to the head of the
 * list (BullMQ pushes it where jobs are taken from), so jobs that run together
 * must go back oldest first, each after the previous one is back: then the
 * newest is at the head again. Jobs "park" when they hit a down target; once
 * every running job is parked (or one has waited maxParkMs), they are released
 * one by one, oldest segment first.
 */
export class RequeueOrder {
  private readonly flights = new Map<string, Flight>();
  private flushing = false;
  private again = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: RequeueOrderOptions) {}

  /** A job of this queue started. */
  enter(jobId: string, startMs: number): void {
    this.flights.set(jobId, { startMs });
  }

  /** A job ended without parking. */
  leave(jobId: string): void {
    const f = this.flights.get(jobId);
    if (f && !f.release) {
      this.flights.delete(jobId);
      this.kick();
    }
  }

  /** The job hit a down target: resolves when it is its turn to be rate-limited back to wait. */
  park(jobId: string): Promise<void> {
    let f = this.flights.get(jobId);
    if (!f) {
      f = { startMs: Number.MAX_SAFE_INTEGER };
      this.flights.set(jobId, f);
    }
    const flight = f;
    const p = new Promise<void>((resolve) => (flight.release = resolve));
    flight.parkedAt = Date.now();
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.kick();
    }, this.options.maxParkMs ?? 5000);
    this.timers.add(t);
    this.kick();
    return p;
  }

  get running(): number {
    return this.flights.size;
  }

  private ready(): boolean {
    const all = [...this.flights.values()];
    const parked = all.filter((f) => f.release);
    if (parked.length === 0) return false;
    if (parked.length === all.length) return true;
    const now = Date.now();
    return parked.some((f) => now - (f.parkedAt ?? now) >= (this.options.maxParkMs ?? 5000));
  }

  private kick(): void {
    if (this.flushing) {
      this.again = true;
      return;
    }
    if (!this.ready()) return;
    this.flushing = true;
    void this.flush().finally(() => {
      this.flushing = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = [...this.flights.entries()].filter(([, f]) => f.release).sort((a, b) => a[1].startMs - b[1].startMs);
    try {
      await this.options.beforeRelease();
    } catch {
      /* release anyway: the jobs must not hang */
    }
    for (const [id, f] of batch) {
      this.flights.delete(id);
      f.release!();
      await this.waitBack(id);
    }
    if (this.flights.size === 0) {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
    }
  }

  private async waitBack(jobId: string): Promise<void> {
    const deadline = Date.now() + (this.options.maxWaitBackMs ?? 2000);
    while (Date.now() < deadline) {
      try {
        if (await this.options.isBack(jobId)) return;
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 20));
    }
  }
}
