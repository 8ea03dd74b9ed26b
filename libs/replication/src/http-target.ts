import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { HttpReplica } from '@tapo/config';
import { redactUrl } from '@tapo/log';
import { parseSegmentFileName } from '@tapo/storage';
import type { CopyResult, LocalSegment } from './directory-target.js';
import { ReplicationRejectedError, SourceGoneError, TargetDownError, errorCode, isNetworkDownError, isRetryableStatus, messageOf } from './errors.js';
import { sha256File, type FileDigest } from './fs-util.js';

/** Path of a segment on a receiving installation (below its board URL). */
export const RECEIVE_PATH = '/api/replica/segments';

export interface HttpTargetOptions {
  /** Time to establish the connection (TCP + TLS). Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest silence on the socket (sending or waiting for the answer). Default 60 s. */
  idleTimeoutMs?: number;
}

export interface HttpSegment extends LocalSegment {
  startMs: number;
  durationMs: number;
}

/** `<base>/api/replica/segments/<camera>/<name>` (the base may carry a path, e.g. behind a reverse proxy). */
export function segmentUrl(baseUrl: string, cameraId: string, fileName: string): URL {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${RECEIVE_PATH}/${encodeURIComponent(cameraId)}/${encodeURIComponent(fileName)}`;
  u.search = '';
  u.hash = '';
  return u;
}

/** A URL for messages: no `user:pass@`. */
export function displayUrl(u: URL | string): string {
  return redactUrl(typeof u === 'string' ? u : u.href);
}

interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * One request with a connect timeout and an idle timeout; `body` is streamed
 * with backpressure. The URL's userinfo is never sent (auth is the bearer token).
 * Resolves with the response (its body cut at 64 KiB), rejects on network errors.
 */
function request(
  method: 'HEAD' | 'PUT',
  url: URL,
  headers: OutgoingHttpHeaders,
  opts: Required<HttpTargetOptions>,
  body?: ReadStream,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    let answer: { status: number; headers: IncomingHttpHeaders; chunks: Buffer[] } | undefined;
    const done = (abort: boolean) => {
      settled = true;
      clearTimeout(connectTimer);
      // An early answer (e.g. 413) while the body was still going: stop sending.
      if (body && !body.readableEnded) body.destroy();
      if (abort || !req.writableFinished) req.destroy();
    };
    const fail = (e: Error) => {
      if (settled) return;
      done(true);
      // The answer came, then the other side closed while we were still sending: the answer counts.
      if (answer) resolve({ status: answer.status, headers: answer.headers, body: Buffer.concat(answer.chunks).toString('utf8').slice(0, 65536) });
      else reject(e);
    };
    const req = mod.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method,
      headers,
      // A connection per request: two per segment is cheap, and a kept-alive
      // socket the other side has just closed would read as "target down".
      agent: false,
    });
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail(new TimeoutError(`no connection within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.setTimeout(opts.idleTimeoutMs, () => fail(new TimeoutError(`no progress for ${opts.idleTimeoutMs} ms`)));
    req.on('error', (e) => fail(e));
    req.on('response', (res) => {
      const a = { status: res.statusCode ?? 0, headers: res.headers, chunks: [] as Buffer[] };
      answer = a;
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 65536) a.chunks.push(c);
        size += c.length;
      });
      res.on('error', (e) => fail(e));
      res.on('end', () => {
        if (settled) return;
        done(false);
        resolve({ status: a.status, headers: a.headers, body: Buffer.concat(a.chunks).toString('utf8').slice(0, 65536) });
      });
    });
    if (body) {
      body.on('error', (e) => fail(errorCode(e) === 'ENOENT' ? new SourceGoneError(e.message) : Object.assign(e, { sourceSide: true })));
      body.pipe(req);
    } else {
      req.end();
    }
  });
}

/** The `error` (or `message`) of a JSON answer, else its start. */
function answerText(r: HttpResponse): string {
  const header = r.headers['x-replica-error'];
  if (typeof header === 'string' && header) return header;
  try {
    const j = JSON.parse(r.body) as { error?: unknown; message?: unknown };
    const m = j.error ?? j.message;
    if (typeof m === 'string' && m) return m;
  } catch {
    /* not JSON */
  }
  return r.body.trim().slice(0, 200) || `HTTP ${r.status}`;
}

/**
 * Sends one segment to another installation's board: sha256 of the file first,
 * `HEAD` (already there with the same hash → 'already'), else `PUT` streamed
 * with Authorization: Bearer, Content-Length, X-Content-SHA256,
 * X-Segment-Start-Ms and X-Segment-Duration-Ms.
 *
 * Unreachable / timeout / 5xx / 408 / 429 → TargetDownError; any other
 * refusal (401 wrong token, 409 different file, 413, 422 rejected) →
 * ReplicationRejectedError. Messages name the target and the URL, never the
 * token or URL credentials.
 */
export async function uploadToHttpTarget(target: HttpReplica, seg: HttpSegment, options: HttpTargetOptions = {}): Promise<CopyResult> {
  const opts: Required<HttpTargetOptions> = { connectTimeoutMs: options.connectTimeoutMs ?? 10_000, idleTimeoutMs: options.idleTimeoutMs ?? 60_000 };
  const parsed = parseSegmentFileName(seg.fileName);
  if (!parsed || parsed.cameraId !== seg.cameraId) throw new Error(`"${seg.fileName}" is not a segment name of camera "${seg.cameraId}"`);
  const url = segmentUrl(target.url, seg.cameraId, seg.fileName);
  const where = (method: string) => `replica "${target.id}" (${method} ${displayUrl(url)})`;

  let digest: FileDigest;
  try {
    digest = await sha256File(seg.absPath);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') throw new SourceGoneError(`${seg.absPath} is gone`);
    throw e;
  }
  const auth = { authorization: `Bearer ${target.token}` };

  const call = async (method: 'HEAD' | 'PUT', headers: OutgoingHttpHeaders, body?: ReadStream): Promise<HttpResponse> => {
    try {
      return await request(method, url, { ...auth, ...headers }, opts, body);
    } catch (e) {
      if (e instanceof SourceGoneError) throw e;
      if ((e as { sourceSide?: boolean }).sourceSide) throw new Error(`${where(method)}: reading ${seg.absPath}: ${messageOf(e)}`);
      if (isNetworkDownError(e)) throw new TargetDownError(`${where(method)}: unreachable: ${messageOf(e)}`, target.id, { cause: e });
      throw new TargetDownError(`${where(method)}: ${messageOf(e)}`, target.id, { cause: e });
    }
  };
  const refuse = (method: string, r: HttpResponse): Error => {
    const text = answerText(r);
    if (isRetryableStatus(r.status)) return new TargetDownError(`${where(method)}: HTTP ${r.status}: ${text}`, target.id);
    const hint =
      r.status === 401 || r.status === 403
        ? ' (is the token listed under receive.tokens there?)'
        : r.status === 421
          ? ' (the receiving board does not answer to this host name: add it to BOARD_ALLOWED_HOSTS there)'
          : '';
    return new ReplicationRejectedError(`${where(method)}: refused with HTTP ${r.status}: ${text}${hint}`, target.id, r.status);
  };

  const head = await call('HEAD', { 'x-segment-duration-ms': String(Math.max(0, Math.round(seg.durationMs))) });
  if (head.status === 200) {
    const theirs = String(head.headers['x-content-sha256'] ?? '').toLowerCase();
    const theirBytes = Number(head.headers['content-length']);
    if (theirs === digest.sha256 && (!Number.isFinite(theirBytes) || theirBytes === digest.bytes)) {
      return { outcome: 'already', ...digest, to: displayUrl(url) };
    }
    throw new ReplicationRejectedError(
      `${where('HEAD')}: a different file with this name is already there (${theirBytes} bytes, sha256 ${theirs.slice(0, 12) || '?'}…; here ${digest.bytes} bytes, ${digest.sha256.slice(0, 12)}…)`,
      target.id,
      409,
    );
  }
  if (head.status !== 404) throw refuse('HEAD', head);

  let size: number;
  try {
    size = (await stat(seg.absPath)).size;
  } catch (e) {
    if (errorCode(e) === 'ENOENT') throw new SourceGoneError(`${seg.absPath} is gone`);
    throw e;
  }
  if (size !== digest.bytes) throw new Error(`${seg.absPath} changed while it was hashed (${digest.bytes} → ${size} bytes)`);
  const max = Number(head.headers['x-receive-max-bytes']);
  if (head.headers['x-receive-max-bytes'] !== undefined && Number.isFinite(max) && size > max) {
    throw new ReplicationRejectedError(`${where('HEAD')}: the segment (${size} bytes) is larger than the receiver's receive.maxBytes (${max})`, target.id, 413);
  }
  const body = createReadStream(seg.absPath, { highWaterMark: 256 * 1024, end: Math.max(0, size - 1), start: 0 });
  const put = await call(
    'PUT',
    {
      'content-type': 'application/octet-stream',
      'content-length': String(size),
      'x-content-sha256': digest.sha256,
      'x-segment-start-ms': String(Math.round(seg.startMs)),
      'x-segment-duration-ms': String(Math.max(0, Math.round(seg.durationMs))),
    },
    size > 0 ? body : undefined,
  );
  if (size === 0) body.destroy();
  if (put.status === 200 || put.status === 201) {
    let already = put.status === 200;
    try {
      already = (JSON.parse(put.body) as { already?: boolean }).already === true;
    } catch {
      /* keep the status' meaning */
    }
    return { outcome: already ? 'already' : 'copied', ...digest, to: displayUrl(url) };
  }
  throw refuse('PUT', put);
}
