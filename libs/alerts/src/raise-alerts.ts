import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEventType, AlertTarget, RecorderConfig } from '@tapo/config';
import { redactDeep, type Logger } from '@tapo/log';
import { NOTIFY_JOB_NAME, NOTIFY_JOB_OPTIONS, alertSubject, createNotifyQueue, notifyJobId, type AlertEvent, type NotifyQueue } from '@tapo/queues';
import { isRecoveryEvent } from './alert-event.js';

/**
 * Hash `<prefix>:alert-state`: subject (`camera:<id>`, `replica:<id>`, ...) →
 * JSON `{ state, open, notified, ...data }`, the last known state of each
 * watched thing, shared by every process.
 */
export function alertStateKey(prefix: string): string {
  return `${prefix}:alert-state`;
}

/** String `<prefix>:alert-last:<subject>:<type>` = the `at` of the last message sent, expires after minIntervalSeconds. */
export function alertLastKey(prefix: string, subject: string, type: AlertEventType): string {
  return `${prefix}:alert-last:${subject}:${type}`;
}

export type RaiseResult = 'sent' | 'suppressed' | 'no-targets';

/** A subject's entry in the alert-state hash. */
export interface StoredAlertState {
  state: string;
  /** An episode (offline, unreachable, ...) is in progress: a recovery event will close it. */
  open: boolean;
  /** A message was sent for the open episode, so its recovery is worth a message too. */
  notified: boolean;
  /** What the caller stored along (e.g. lastVideoAt). */
  data: Record<string, string>;
}

/**
 * SET NX of the throttle key; a key holding this very event (a retried raise)
 * counts as claimed, so the retry re-queues the same job ids instead of losing it.
 */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0`;

/**
 * KEYS: state hash, throttle key. ARGV: subject, state, data JSON, kind
 * (alert | recovery | none), has targets (1/0), minInterval ms, event at.
 * Returns { changed, send }.
 */
const TRANSITION = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local prev = {}
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' then prev = v end
end
if prev.state == ARGV[2] then return {0, 0} end
local nextv = cjson.decode(ARGV[3])
nextv.state = ARGV[2]
local wasNotified = prev.open == true and prev.notified == true
local send = 0
if ARGV[4] == 'recovery' then
  if ARGV[5] == '1' and wasNotified then send = 1 end
  nextv.open = false
  nextv.notified = false
elseif ARGV[4] == 'alert' then
  if ARGV[5] == '1' then
    local ms = tonumber(ARGV[6])
    if ms <= 0 or redis.call('SET', KEYS[2], ARGV[7], 'PX', ms, 'NX') then send = 1 end
  end
  nextv.open = true
  nextv.notified = send == 1 or wasNotified
else
  nextv.open = prev.open == true
  nextv.notified = prev.notified == true
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(nextv))
return {1, send}`;

export interface AlerterOptions {
  /** A command connection (not a blocking one). */
  redis: Redis;
  prefix: string;
  getConfig(): RecorderConfig;
  logger: Logger;
  /** Default: a queue on `redis`, closed by close(). */
  queue?: NotifyQueue;
  /** Merged over NOTIFY_JOB_OPTIONS (tests use a short backoff). */
  jobOptions?: JobsOptions;
}

/**
 * Turns events into `notify` jobs, one per interested target, with two
 * guards that hold across processes (they live in Redis):
 *
 * - throttle: at most one message per subject and event type per
 *   `alerts.minIntervalSeconds`;
 * - transitions: `transition()` changes a subject's state atomically and
 *   speaks only on a change, so two processes watching the same camera, or a
 *   restarted one, do not repeat themselves.
 *
 * Pairing rule: a recovery event ("camera-back", "replica-back") is sent only
 * when a message was sent for the episode it closes. If "offline" was
 * suppressed by the throttle (a camera flapping), its "back" is suppressed
 * too, so nobody gets a "back" without an "offline". Recoveries are therefore
 * not throttled themselves: they are bounded by their opening messages.
 */
export class Alerter {
  private readonly queue: NotifyQueue;
  private readonly ownsQueue: boolean;

  constructor(private readonly opts: AlerterOptions) {
    this.ownsQueue = !opts.queue;
    this.queue = opts.queue ?? createNotifyQueue(opts.redis, opts.prefix);
    if (this.ownsQueue) this.queue.on('error', () => {});
  }

  /** Targets that want this event type (those without an `events` list want all). */
  targetsFor(type: AlertEventType): AlertTarget[] {
    return this.opts.getConfig().alerts.targets.filter((t) => !t.events || t.events.includes(type));
  }

  /** Sends an event to its targets, unless one like it (same subject and type) was sent within minIntervalSeconds. */
  async raise(event: AlertEvent): Promise<RaiseResult> {
    const targets = this.targetsFor(event.type);
    if (targets.length === 0) return 'no-targets';
    const ms = this.minIntervalMs();
    if (ms > 0) {
      const key = alertLastKey(this.opts.prefix, alertSubject(event), event.type);
      const claimed = (await this.opts.redis.eval(CLAIM, 1, key, event.at, String(ms))) as number;
      if (!claimed) {
        this.opts.logger.debug({ alert: event.type, subject: alertSubject(event) }, `alert ${event.type} (${alertSubject(event)}) suppressed: one was sent less than ${ms / 1000} s ago`);
        return 'suppressed';
      }
    }
    await this.enqueue(event, targets);
    return 'sent';
  }

  /**
   * Sets `subject`'s state; true only if it changed (atomically: of several
   * processes making the same change, one gets true). On a change, `event`
   * (if any) is sent under the throttle and the pairing rule; a change
   * without an event keeps the episode as it was. `data` is stored along
   * (strings, no secrets) and comes back from readStates().
   */
  async transition(subject: string, state: string, event?: AlertEvent, data: Record<string, string> = {}): Promise<boolean> {
    const targets = event ? this.targetsFor(event.type) : [];
    const kind = !event ? 'none' : isRecoveryEvent(event.type) ? 'recovery' : 'alert';
    const stateKey = alertStateKey(this.opts.prefix);
    const throttleKey = event ? alertLastKey(this.opts.prefix, alertSubject(event), event.type) : stateKey;
    const [changed, send] = (await this.opts.redis.eval(
      TRANSITION,
      2,
      stateKey,
      throttleKey,
      subject,
      state,
      JSON.stringify(redactDeep(data)),
      kind,
      targets.length > 0 ? '1' : '0',
      String(this.minIntervalMs()),
      event?.at ?? '',
    )) as [number, number];
    if (!changed) return false;
    if (event && send) await this.enqueue(event, targets);
    else if (event) this.opts.logger.debug({ alert: event.type, subject }, `alert ${event.type} (${subject}) not sent: ${targets.length === 0 ? 'no targets' : kind === 'recovery' ? 'nothing was sent for the outage' : 'throttled'}`);
    return true;
  }

  /** Every subject's stored state. */
  async readStates(): Promise<Map<string, StoredAlertState>> {
    const raw = await this.opts.redis.hgetall(alertStateKey(this.opts.prefix));
    const out = new Map<string, StoredAlertState>();
    for (const [subject, json] of Object.entries(raw)) {
      try {
        const { state, open, notified, ...data } = JSON.parse(json) as Record<string, unknown>;
        if (typeof state !== 'string') continue;
        const strings = Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
        out.set(subject, { state, open: open === true, notified: notified === true, data: strings });
      } catch {
        /* not ours */
      }
    }
    return out;
  }

  /** Drops subjects' states (a camera removed or disabled): nothing more is said about them. */
  async forget(...subjects: string[]): Promise<void> {
    if (subjects.length > 0) await this.opts.redis.hdel(alertStateKey(this.opts.prefix), ...subjects);
  }

  async close(): Promise<void> {
    if (this.ownsQueue) await this.queue.close().catch(() => {});
  }

  private minIntervalMs(): number {
    return Math.max(0, Math.round(this.opts.getConfig().alerts.minIntervalSeconds * 1000));
  }

  private async enqueue(event: AlertEvent, targets: AlertTarget[]): Promise<void> {
    const clean = redactDeep(event);
    await Promise.all(
      targets.map((t) =>
        this.queue.add(NOTIFY_JOB_NAME, { targetId: t.id, event: clean }, { ...NOTIFY_JOB_OPTIONS, ...this.opts.jobOptions, jobId: notifyJobId(t.id, event) }),
      ),
    );
    this.opts.logger.info(
      { alert: event.type, subject: alertSubject(event), targets: targets.map((t) => t.id) },
      `alert ${event.type} (${alertSubject(event)}) queued for ${targets.length} target(s)`,
    );
  }
}
