import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export interface BoardAuth {
  user: string;
  password: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** HTTP basic auth middleware (used when BOARD_USER and BOARD_PASSWORD are set). */
export function basicAuth(auth: BoardAuth) {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (m) {
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0 && same(decoded.slice(0, i), auth.user) && same(decoded.slice(i + 1), auth.password)) return next();
    }
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
