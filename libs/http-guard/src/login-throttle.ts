export interface LoginThrottleOptions {
  /** Wrong passwords allowed in a burst before the client has to wait. Default 5. */
  freeFailures?: number;
  /** First wait after the free failures (ms); doubles with every further failure. Default 1000. */
  baseDelayMs?: number;
  /** Longest wait (ms). Default 15 min. */
  maxDelayMs?: number;
  /** A burst ends after this long without a failure (ms). Default 15 min. */
  burstEndsAfterMs?: number;
  /** Clients tracked at most (the oldest is forgotten first). Default 10 000. */
  maxClients?: number;
}

interface Client {
  failures: number;
  firstAt: number;
  lastAt: number;
  /** Attempts refused because the client had to wait. */
  refused: number;
  waitUntil: number;
}

/** A burst of failed logins from one client that has ended (for the summary log line). */
export interface EndedBurst {
  client: string;
  failures: number;
  refused: number;
  firstAt: number;
  lastAt: number;
}

/**
 * Failed logins slowed per client: `freeFailures` wrong passwords pass as
 * plain 401s; after that each failure makes the client wait twice as long
 * as the last (1 s, 2 s, 4 s ... up to maxDelayMs). While it waits, every
 * attempt, right or wrong, is refused without looking at the password (429
 * with Retry-After), so guessing runs at a handful of tries per quarter hour.
 * Pure: the caller passes the time.
 */
export class LoginThrottle {
  private readonly clients = new Map<string, Client>();
  private readonly free: number;
  private readonly base: number;
  private readonly max: number;
  private readonly burstMs: number;
  private readonly maxClients: number;

  constructor(o: LoginThrottleOptions = {}) {
    this.free = o.freeFailures ?? 5;
    this.base = o.baseDelayMs ?? 1000;
    this.max = o.maxDelayMs ?? 15 * 60_000;
    this.burstMs = o.burstEndsAfterMs ?? 15 * 60_000;
    this.maxClients = o.maxClients ?? 10_000;
  }

  /** How long (ms) the client must still wait before its password is checked; 0 = check it now. */
  waitMs(client: string, now: number): number {
    const c = this.live(client, now);
    if (!c || c.waitUntil <= now) return 0;
    c.refused++;
    return c.waitUntil - now;
  }

  /** Records a wrong password; `firstOfBurst` says whether to log it (one line per burst). */
  failure(client: string, now: number): { firstOfBurst: boolean; failures: number; waitMs: number } {
    let c = this.live(client, now);
    const firstOfBurst = !c;
    this.clients.delete(client); // (re-)inserted last: the map stays ordered by last failure
    if (!c) {
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
      c = { failures: 0, firstAt: now, lastAt: now, refused: 0, waitUntil: 0 };
    }
    this.clients.set(client, c);
    c.failures++;
    c.lastAt = now;
    const over = c.failures - this.free;
    const wait = over <= 0 ? 0 : Math.min(this.max, this.base * 2 ** Math.min(over - 1, 30));
    c.waitUntil = now + wait;
    return { firstOfBurst, failures: c.failures, waitMs: wait };
  }

  /** A right password: the client's burst is over. */
  success(client: string): void {
    this.clients.delete(client);
  }

  /** Removes and returns the bursts that have ended by `now` (oldest first). */
  sweep(now: number): EndedBurst[] {
    const ended: EndedBurst[] = [];
    for (const [client, c] of this.clients) {
      if (now - c.lastAt < this.burstMs) break; // ordered by last failure: the rest are younger
      if (c.waitUntil > now) continue;
      this.clients.delete(client);
      ended.push({ client, failures: c.failures, refused: c.refused, firstAt: c.firstAt, lastAt: c.lastAt });
    }
    return ended;
  }

  get size(): number {
    return this.clients.size;
  }

  private live(client: string, now: number): Client | undefined {
    const c = this.clients.get(client);
    if (c && now - c.lastAt >= this.burstMs && c.waitUntil <= now) return undefined;
    return c;
  }
}
