import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { HttpReplica } from '@tapo/config';
import { redactUrl } from '@tapo/log';
import { parseSegmentFileName } from '@tapo/storage';
import { REPLICA_HEADERS, liveUrl, segmentUrl } from '@tapo/replica-protocol';
import { ReplicationRejectedError, SourceGoneError, asSourceError, TargetDownError, errorCode, isNetworkDownError, isRetryableStatus, messageOf } from '../errors.js';
import { LiveHoleError, replicaSegment, type LiveTarget, type PutResult, type ReplicaSegment, type ReplicaTarget, type TargetType } from './target.js';

export interface HttpTargetOptions {
  /** Time to establish the connection (TCP + TLS). Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest silence on the socket (sending or waiting for the answer). Default 60 s. */
  idleTimeoutMs?: number;
}

/** The local file, as uploadToHttpTarget needs it. */
export type HttpSegment = Omit<ReplicaSegment, 'digest'>;

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
  method: 'HEAD' | 'PUT' | 'POST',
  url: URL,
  headers: OutgoingHttpHeaders,
  opts: Required<HttpTargetOptions>,
  body?: ReadStream | Buffer,
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
      if (body && !Buffer.isBuffer(body) && !body.readableEnded) body.destroy();
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
    if (Buffer.isBuffer(body)) {
      req.end(body);
    } else if (body) {
      body.on('error', (e) => fail(errorCode(e) === 'ENOENT' ? new SourceGoneError(e.message) : Object.assign(e, { sourceSide: true })));
      body.pipe(req);
    } else {
      req.end();
    }
  });
}

/** The `error` (or `message`) of a JSON answer, else its start. */
function answerText(r: HttpResponse): string {
  const header = r.headers[REPLICA_HEADERS.error];
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
 * `type: http`: another installation's board. A segment goes as `HEAD` (the
 * same sha256 already there → 'already'), then `PUT` streamed with
 * Authorization: Bearer, Content-Length, X-Content-SHA256,
 * X-Segment-Start-Ms and X-Segment-Duration-Ms. `has` then `put` of the same
 * segment send one HEAD and hash the file once.
 *
 * Unreachable / timeout / 5xx / 408 / 429 → TargetDownError; any other
 * refusal (401 wrong token, 409 different file, 413, 422 rejected) →
 * ReplicationRejectedError. Messages name the target and the URL, never the
 * token or URL credentials.
 */
export function httpTarget(target: HttpReplica, options: HttpTargetOptions = {}): ReplicaTarget {
  const opts: Required<HttpTargetOptions> = { connectTimeoutMs: options.connectTimeoutMs ?? 10_000, idleTimeoutMs: options.idleTimeoutMs ?? 60_000 };
  const auth = { authorization: `Bearer ${target.token}` };
  /** The 404 answer of a segment `has` found absent: `put` goes straight to the PUT. */
  const absentAnswers = new WeakMap<ReplicaSegment, HttpResponse>();

  const urlOf = (seg: ReplicaSegment): URL => {
    const parsed = parseSegmentFileName(seg.fileName);
    if (!parsed || parsed.cameraId !== seg.cameraId) throw new Error(`"${seg.fileName}" is not a segment name of camera "${seg.cameraId}"`);
    return segmentUrl(target.url, seg.cameraId, seg.fileName);
  };
  const where = (method: string, url: URL) => `replica "${target.id}" (${method} ${displayUrl(url)})`;

  const call = async (seg: ReplicaSegment, url: URL, method: 'HEAD' | 'PUT', headers: OutgoingHttpHeaders, body?: ReadStream): Promise<HttpResponse> => {
    try {
      return await request(method, url, { ...auth, ...headers }, opts, body);
    } catch (e) {
      if (e instanceof SourceGoneError) throw e;
      if ((e as { sourceSide?: boolean }).sourceSide) throw new Error(`${where(method, url)}: reading ${seg.absPath}: ${messageOf(e)}`);
      if (isNetworkDownError(e)) throw new TargetDownError(`${where(method, url)}: unreachable: ${messageOf(e)}`, target.id, { cause: e });
      throw new TargetDownError(`${where(method, url)}: ${messageOf(e)}`, target.id, { cause: e });
    }
  };
  const refuse = (method: string, url: URL, r: HttpResponse): Error => {
    const text = answerText(r);
    if (isRetryableStatus(r.status)) return new TargetDownError(`${where(method, url)}: HTTP ${r.status}: ${text}`, target.id);
    const hint =
      r.status === 401 || r.status === 403
        ? ' (is the token listed under receive.tokens there?)'
        : r.status === 421
          ? ' (the receiving board does not answer to this host name: add it to BOARD_ALLOWED_HOSTS there)'
          : '';
    return new ReplicationRejectedError(`${where(method, url)}: refused with HTTP ${r.status}: ${text}${hint}`, target.id, r.status);
  };

  /** HEAD: true when the same file is there; the 404 answer is kept for `put`. */
  const has = async (seg: ReplicaSegment, url: URL): Promise<boolean> => {
    const digest = await seg.digest();
    const head = await call(seg, url, 'HEAD', { [REPLICA_HEADERS.durationMs]: String(Math.max(0, Math.round(seg.durationMs))) });
    if (head.status === 200) {
      const theirs = String(head.headers[REPLICA_HEADERS.sha256] ?? '').toLowerCase();
      const theirBytes = Number(head.headers['content-length']);
      if (theirs === digest.sha256 && (!Number.isFinite(theirBytes) || theirBytes === digest.bytes)) return true;
      // A shorter copy: the live copy the receiver stored when this sender fell silent. The PUT
      // replaces it when it is the start of this file (the receiver checks).
      if (Number.isFinite(theirBytes) && theirBytes < digest.bytes) return false;
      throw new ReplicationRejectedError(
        `${where('HEAD', url)}: a different file with this name is already there (${theirBytes} bytes, sha256 ${theirs.slice(0, 12) || '?'}…; here ${digest.bytes} bytes, ${digest.sha256.slice(0, 12)}…)`,
        target.id,
        409,
      );
    }
    if (head.status !== 404) throw refuse('HEAD', url, head);
    absentAnswers.set(seg, head);
    return false;
  };

  const put = async (seg: ReplicaSegment): Promise<PutResult> => {
    const url = urlOf(seg);
    if (!absentAnswers.has(seg) && (await has(seg, url))) return { outcome: 'already', ...(await seg.digest()), to: displayUrl(url) };
    const head = absentAnswers.get(seg) ?? { status: 404, headers: {}, body: '' };
    absentAnswers.delete(seg);
    const digest = await seg.digest();
    let size: number;
    try {
      size = (await stat(seg.absPath)).size;
    } catch (e) {
      throw asSourceError(e, seg.absPath);
    }
    if (size !== digest.bytes) throw new Error(`${seg.absPath} changed while it was hashed (${digest.bytes} → ${size} bytes)`);
    const maxHeader = head.headers[REPLICA_HEADERS.maxBytes];
    const max = Number(maxHeader);
    if (maxHeader !== undefined && Number.isFinite(max) && size > max) {
      throw new ReplicationRejectedError(`${where('HEAD', url)}: the segment (${size} bytes) is larger than the receiver's receive.maxBytes (${max})`, target.id, 413);
    }
    const body = createReadStream(seg.absPath, { highWaterMark: 256 * 1024, end: Math.max(0, size - 1), start: 0 });
    const answer = await call(
      seg,
      url,
      'PUT',
      {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        [REPLICA_HEADERS.sha256]: digest.sha256,
        [REPLICA_HEADERS.startMs]: String(Math.round(seg.startMs)),
        [REPLICA_HEADERS.durationMs]: String(Math.max(0, Math.round(seg.durationMs))),
      },
      size > 0 ? body : undefined,
    );
    if (size === 0) body.destroy();
    if (answer.status === 200 || answer.status === 201) {
      let already = answer.status === 200;
      try {
        already = (JSON.parse(answer.body) as { already?: boolean }).already === true;
      } catch {
        /* keep the status' meaning */
      }
      return { outcome: already ? 'already' : 'copied', ...digest, to: displayUrl(url) };
    }
    throw refuse('PUT', url, answer);
  };

  const heldOf = (r: HttpResponse): number | undefined => {
    const h = Number(r.headers[REPLICA_HEADERS.liveHeld]);
    if (Number.isSafeInteger(h) && h >= 0) return h;
    try {
      const j = JSON.parse(r.body) as { held?: unknown };
      return typeof j.held === 'number' ? j.held : undefined;
    } catch {
      return undefined;
    }
  };
  const liveCall = async (url: URL, headers: OutgoingHttpHeaders, body?: Buffer): Promise<HttpResponse> => {
    try {
      return await request('POST', url, { ...auth, ...headers }, opts, body);
    } catch (e) {
      throw new TargetDownError(`${where('POST', url)}: ${isNetworkDownError(e) ? 'unreachable: ' : ''}${messageOf(e)}`, target.id, { cause: e });
    }
  };
  const live: LiveTarget = {
    minIntervalMs: 0,
    async append(chunk) {
      const url = liveUrl(target.url, chunk.cameraId, chunk.fileName, 'live');
      const r = await liveCall(
        url,
        {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.bytes.length),
          [REPLICA_HEADERS.liveOffset]: String(chunk.offset),
          [REPLICA_HEADERS.startMs]: String(Math.round(chunk.startMs)),
          [REPLICA_HEADERS.durationMs]: String(Math.max(0, Math.round(chunk.durationMs))),
        },
        chunk.bytes,
      );
      const held = heldOf(r);
      if (r.status === 200 && held !== undefined) return { held, final: (JSON.parse(r.body) as { final?: boolean }).final === true };
      if (r.status === 409 && held !== undefined) throw new LiveHoleError(`${where('POST', url)}: ${answerText(r)}`, held);
      throw refuse('POST', url, r);
    },
    async finish(seg) {
      const url = liveUrl(target.url, seg.cameraId, seg.fileName, 'finish');
      const r = await liveCall(url, {
        'content-length': '0',
        [REPLICA_HEADERS.liveSize]: String(seg.bytes),
        [REPLICA_HEADERS.sha256]: seg.sha256,
        [REPLICA_HEADERS.startMs]: String(Math.round(seg.startMs)),
        [REPLICA_HEADERS.durationMs]: String(Math.max(0, Math.round(seg.durationMs))),
      });
      if (r.status === 200 || r.status === 201) return;
      const held = heldOf(r);
      if (r.status === 409 && held !== undefined) throw new LiveHoleError(`${where('POST', url)}: ${answerText(r)}`, held);
      throw refuse('POST', url, r);
    },
  };

  return { id: target.id, where: displayUrl(target.url), has: (seg) => has(seg, urlOf(seg)), put, live };
}

/** Sends one segment to an http target (HEAD, then PUT unless the same file is there): see httpTarget. */
export function uploadToHttpTarget(target: HttpReplica, seg: HttpSegment, options: HttpTargetOptions = {}): Promise<PutResult> {
  return httpTarget(target, options).put(replicaSegment(seg));
}

export const httpTargetType: TargetType<HttpReplica> = {
  create: (config, options) => httpTarget(config, options.http),
  secrets: (config) => [config.token],
};
