import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertTarget, RecorderConfig } from '@tapo/config';
import { redactDeep, redactText, type Logger } from '@tapo/log';
import {
  NOTIFY_QUEUE,
  createNotifyQueue,
  type AlertEvent,
  type NOTIFY_JOB_NAME,
  type NotifyJobData,
  type NotifyQueue,
  type NotifyResult,
} from '@tapo/queues';
import { formatAlert } from './alert-event.js';

export const NOTIFY_TIMEOUT_MS = 10_000;

/** ntfy's body limit is 4096 bytes (longer ones become attachments). */
const NTFY_MAX_MESSAGE = 3500;

export interface NotifyRequest {
  url: string;
  method: 'POST';
  headers: Headers;
  body: string;
}

/** A header value without line breaks; non-ASCII text as an RFC 2047 encoded word (ntfy decodes it). */
function headerValue(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`;
}

/** The HTTP request that tells one target about one event. Pure. */
export function buildNotifyRequest(target: AlertTarget, event: AlertEvent, opts: { installName?: string } = {}): NotifyRequest {
  const f = formatAlert(event, opts);
  const headers = new Headers(target.headers);
  if (target.type === 'ntfy') {
    headers.set('content-type', 'text/plain; charset=utf-8');
    headers.set('Title', headerValue(f.title));
    headers.set('Priority', f.priority);
    headers.set('Tags', headerValue(f.tags.join(',')));
    const body = f.message.length > NTFY_MAX_MESSAGE ? `${f.message.slice(0, NTFY_MAX_MESSAGE)}...` : f.message;
    return { url: target.url, method: 'POST', headers, body };
  }
  headers.set('content-type', 'application/json');
  const body = JSON.stringify({
    type: event.type,
    title: f.title,
    message: f.message,
    priority: f.priority,
    tags: f.tags,
    cameraId: event.cameraId ?? null,
    replicaId: event.replicaId ?? null,
    at: event.at,
    details: redactDeep(event.details),
    install: opts.installName ?? null,
  });
  return { url: target.url, method: 'POST', headers, body };
}

/**
 * A target URL as it may appear in errors, logs and Redis: scheme and host
 * only. Paths and queries often are the secret (an ntfy topic, a chat
 * webhook's token), so they are masked.
 */
export function describeTargetUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = (u.pathname !== '/' && u.pathname !== '') || u.search !== '' ? '/...' : '';
    return `${u.protocol}//${u.host}${hidden}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Sends one alert to one target; throws (naming the target, the status and the masked URL) unless it answers 2xx. */
export async function deliverAlert(
  target: AlertTarget,
  event: AlertEvent,
  opts: { installName?: string; timeoutMs?: number } = {},
): Promise<number> {
  const req = buildNotifyRequest(target, event, opts);
  const timeoutMs = opts.timeoutMs ?? NOTIFY_TIMEOUT_MS;
  const where = `alert target "${target.id}" (${describeTargetUrl(target.url)})`;
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error & { cause?: unknown };
    const why =
      err.name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`;
    throw new Error(redactText(`${where}: ${why}`));
  }
  await res.body?.cancel().catch(() => {});
  if (!res.ok) throw new Error(redactText(`${where} answered HTTP ${res.status}`));
  return res.status;
}

export interface NotifyProcessorDeps {
  getConfig(): RecorderConfig;
  /** Shown in titles and sent as `install` to webhooks. */
  installName?: string;
  timeoutMs?: number;
}

/** The processor of `notify` jobs. A target missing from the config completes the job ("target removed"). */
export function createNotifyProcessor(deps: NotifyProcessorDeps): (job: { data: NotifyJobData }) => Promise<NotifyResult> {
  return async (job) => {
    const { targetId, event } = job.data;
    const target = deps.getConfig().alerts.targets.find((t) => t.id === targetId);
    if (!target) return { targetId, outcome: 'target removed' };
    const status = await deliverAlert(target, event, deps);
    return { targetId, outcome: 'delivered', status };
  };
}

export interface NotifyWorkerOptions extends NotifyProcessorDeps {
  /** Connection for the worker (maxRetriesPerRequest: null). */
  blocking: Redis;
  /** Connection for the queue handle (default: `blocking`). */
  redis?: Redis;
  prefix: string;
  logger: Logger;
  /** Deliveries in parallel (a slow target does not hold up the others). */
  concurrency?: number;
}

export interface NotifyWorker {
  queue: NotifyQueue;
  worker: Worker<NotifyJobData, NotifyResult, typeof NOTIFY_JOB_NAME>;
  close(): Promise<void>;
}

/** Consumes the `notify` queue: delivers each alert to its target, retried with backoff. */
export function startNotifyWorker(opts: NotifyWorkerOptions): NotifyWorker {
  const queue = createNotifyQueue(opts.redis ?? opts.blocking, opts.prefix);
  queue.on('error', () => {});
  const worker = new Worker<NotifyJobData, NotifyResult, typeof NOTIFY_JOB_NAME>(NOTIFY_QUEUE, createNotifyProcessor(opts), {
    connection: opts.blocking,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? 4,
  });
  worker.on('error', (e) => opts.logger.debug({ err: e }, `notify worker error: ${redactText(e.message)}`));
  worker.on('failed', (job, err) => {
    const attempts = job?.opts.attempts ?? 1;
    opts.logger.warn(
      { jobId: job?.id, targetId: job?.data.targetId, attempt: job?.attemptsMade, attempts },
      `alert ${job?.data.event.type} not delivered (attempt ${job?.attemptsMade}/${attempts}): ${redactText(err.message)}`,
    );
  });
  worker.on('completed', (job, result) => {
    opts.logger.info({ jobId: job.id, targetId: result.targetId }, `alert ${job.data.event.type} → "${result.targetId}": ${result.outcome}`);
  });
  return {
    queue,
    worker,
    async close() {
      await Promise.allSettled([worker.close()]);
      await queue.close().catch(() => {});
    },
  };
}
