/**
 * Error kinds of a replication attempt. The processor maps them onto BullMQ:
 *   TargetDownError        → the target is unreachable: rate-limit the queue, the job goes back to wait (no attempt burnt)
 *   ReplicationRejectedError → the target answered "no" for good (wrong token, conflict, bad file): a real failure
 *   SourceGoneError        → the local segment is gone (pruned): the job completes as skipped
 * Anything else is unexpected and retried with the job's backoff.
 */
export class TargetDownError extends Error {
  override readonly name = 'TargetDownError';
  constructor(
    message: string,
    readonly targetId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ReplicationRejectedError extends Error {
  override readonly name = 'ReplicationRejectedError';
  constructor(
    message: string,
    readonly targetId: string,
    /** HTTP status, when the target is an installation. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export class SourceGoneError extends Error {
  override readonly name = 'SourceGoneError';
}

/** Network errors that mean "the other side is not reachable right now". */
const NETWORK_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPROTO',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** What to throw when the local segment file cannot be read: SourceGoneError when it is gone (pruned meanwhile), the error itself otherwise. */
export function asSourceError(e: unknown, absPath: string): unknown {
  return errorCode(e) === 'ENOENT' ? new SourceGoneError(`${absPath} is gone`) : e;
}

/** True for a network error that means the peer is down or unreachable (TLS failures included: the peer must be fixed). */
export function isNetworkDownError(e: unknown): boolean {
  const code = errorCode(e);
  if (code && (NETWORK_DOWN_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))) return true;
  return e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
}

/** HTTP statuses that mean "try again later" rather than "no". */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) {
    const code = errorCode(e);
    return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
