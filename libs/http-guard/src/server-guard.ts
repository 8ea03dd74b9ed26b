import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ServerGuardOptions {
  /** Whole request head (request line + headers) must arrive within this (ms). Default 10 s. */
  headersTimeoutMs?: number;
  /** Whole request (head and body) must arrive within this (ms), except uploads. Default 30 s. */
  requestTimeoutMs?: number;
  /** Requests that carry a long body (an authenticated replica upload) get a minimum transfer rate instead of requestTimeoutMs. */
  isUpload?(req: IncomingMessage): boolean;
  /** Upload body: at least this many bytes per second, averaged over rateWindowMs. Default 8 KiB/s. */
  minUploadBytesPerSecond?: number;
  /** Default 20 s. */
  rateWindowMs?: number;
  /** Open connections at most (new ones are closed at once). Default 256. */
  maxConnections?: number;
  /** Open connections per client address at most. Default 64. */
  maxConnectionsPerClient?: number;
  /** Told once per client address and minute when its connections are refused. */
  onRefused?(what: { client: string; reason: string }): void;
}

export interface ServerGuard {
  /** Open connections per client address (for metrics and tests). */
  connections(): Map<string, number>;
  /** Connections refused (caps) and requests cut (timeouts) since start. */
  counters(): { refusedConnections: number; timedOutRequests: number; slowUploads: number };
}

/** Node's own defaults replaced before listen: pass to http.createServer. */
export function serverOptions(o: ServerGuardOptions = {}) {
  return {
    headersTimeout: o.headersTimeoutMs ?? 10_000,
    // Our own per-request deadline below (uploads get a rate instead); Node's would cut every upload.
    requestTimeout: 0,
    connectionsCheckingInterval: 1000,
    keepAliveTimeout: 5000,
  };
}

/**
 * Slow and flooding clients: connection caps (total and per address), a
 * deadline for receiving each request (a client trickling a body is cut when
 * it passes), and for uploads a minimum transfer rate. Responses are not
 * timed: a long video download to a slow phone is fine once its request is in.
 */
export function guardServer(server: Server, o: ServerGuardOptions = {}): ServerGuard {
  const requestMs = o.requestTimeoutMs ?? 30_000;
  const minRate = o.minUploadBytesPerSecond ?? 8 * 1024;
  const windowMs = o.rateWindowMs ?? 20_000;
  const perClient = o.maxConnectionsPerClient ?? 64;
  server.maxConnections = o.maxConnections ?? 256;
  const open = new Map<string, number>();
  const told = new Map<string, number>();
  const counters = { refusedConnections: 0, timedOutRequests: 0, slowUploads: 0 };

  const refuse = (client: string, reason: string) => {
    counters.refusedConnections++;
    const now = Date.now();
    if (now - (told.get(client) ?? 0) < 60_000) return;
    if (told.size > 1000) told.clear();
    told.set(client, now);
    o.onRefused?.({ client, reason });
  };

  server.on('drop', (d?: { remoteAddress?: string }) => refuse(d?.remoteAddress ?? 'unknown', `more than ${server.maxConnections} open connections`));

  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? 'unknown';
    const n = (open.get(client) ?? 0) + 1;
    if (n > perClient) {
      refuse(client, `more than ${perClient} open connections from ${client}`);
      socket.destroy();
      return;
    }
    open.set(client, n);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left <= 0) open.delete(client);
      else open.set(client, left);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.complete) return;
    const socket = req.socket;
    let timer: NodeJS.Timeout;
    const cut = (status: number, text: string) => {
      if (!res.headersSent) {
        res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        res.end(text);
      }
      // The answer's bytes first, then the socket: whatever the client still sends is not read.
      setTimeout(() => socket.destroy(), 200).unref();
    };
    if (o.isUpload?.(req)) {
      let last = socket.bytesRead;
      timer = setInterval(() => {
        if (req.complete || socket.destroyed) return void clearInterval(timer);
        const got = socket.bytesRead - last;
        last = socket.bytesRead;
        if (got < (minRate * windowMs) / 1000) {
          counters.slowUploads++;
          clearInterval(timer);
          cut(408, `upload slower than ${minRate} bytes/s over ${windowMs / 1000} s: closed\n`);
        }
      }, windowMs);
    } else {
      timer = setTimeout(() => {
        if (req.complete || socket.destroyed) return;
        counters.timedOutRequests++;
        cut(408, `request not received within ${requestMs / 1000} s: closed\n`);
      }, requestMs);
    }
    timer.unref();
    const done = () => clearTimeout(timer);
    res.once('close', done);
    req.once('end', done);
  });

  return {
    connections: () => new Map(open),
    counters: () => ({ ...counters }),
  };
}

/**
 * After an answer that refuses the request (401, 403, 421, 429): the
 * connection is closed once the answer is out, and whatever body the client
 * is still sending is not waited for.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  res.once('finish', () => {
    if (req.complete) return;
    setTimeout(() => req.socket.destroy(), 200).unref();
  });
}
