import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { closeAfterAnswer, LoginThrottle } from '@tapo/http-guard';
import type { Logger } from '@tapo/log';

export interface BoardAuth {
  user: string;
  password: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface BasicAuthOptions {
  throttle?: LoginThrottle;
  logger?: Logger;
  /** The time (tests). */
  now?: () => number;
}

/**
 * HTTP basic auth middleware (used when BOARD_USER and BOARD_PASSWORD are
 * set). Wrong passwords are slowed per client address (LoginThrottle: 5 free,
 * then 1 s, 2 s, 4 s ... up to 15 min, during which every attempt gets 429
 * without its password being looked at) and logged once per burst (its first
 * failure, then a summary when it ends). A refusal closes the connection.
 */
export function basicAuth(auth: BoardAuth, opts: BasicAuthOptions = {}) {
  const throttle = opts.throttle ?? new LoginThrottle();
  const now = opts.now ?? Date.now;
  const sweep = setInterval(() => {
    for (const b of throttle.sweep(now())) {
      opts.logger?.warn(
        `${b.failures} failed board login(s) from ${b.client} between ${new Date(b.firstAt).toISOString()} and ${new Date(b.lastAt).toISOString()} (${b.refused} more attempts refused while it had to wait)`,
      );
    }
  }, 60_000);
  sweep.unref();
  return (req: Request, res: Response, next: NextFunction) => {
    const client = req.socket.remoteAddress ?? 'unknown';
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (m) {
      const wait = throttle.waitMs(client, now());
      if (wait > 0) {
        closeAfterAnswer(req, res);
        res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
        return void res.status(429).type('text').send(`too many failed logins from ${client}: try again in ${Math.ceil(wait / 1000)} s\n`);
      }
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0 && same(decoded.slice(0, i), auth.user) && same(decoded.slice(i + 1), auth.password)) {
        throttle.success(client);
        return next();
      }
      const f = throttle.failure(client, now());
      if (f.firstOfBurst) {
        opts.logger?.warn(`failed board login from ${client} (${req.method} ${req.path.slice(0, 80)}); further failures from this address are counted and reported when they stop`);
      }
    }
    closeAfterAnswer(req, res);
    res.setHeader('WWW-Authenticate', 'Basic realm="tapo-recorder", charset="UTF-8"');
    res.status(401).send('authentication required');
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Refuses to serve on a non-loopback address without authentication. */
export function checkExposure(host: string, auth: BoardAuth | undefined, allowNoAuth = false): void {
  if (!isLoopback(host) && !auth && !allowNoAuth) {
    throw new Error(
      `refusing to serve the board on ${host} without authentication: set BOARD_USER and BOARD_PASSWORD, or BOARD_HOST=127.0.0.1 (in a container whose port is published on 127.0.0.1 only: BOARD_ALLOW_NO_AUTH=true)`,
    );
  }
}
