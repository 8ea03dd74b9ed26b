import type { NextFunction, Request, Response } from 'express';
import { closeAfterAnswer, crossSiteReason, hasNonJsonBody, type HostAllowList } from '@tapo/http-guard';
import type { Logger } from '@tapo/log';
import { RECORD_QUEUE } from '@tapo/queues';

const refuse = (req: Request, res: Response, status: number, error: string) => {
  closeAfterAnswer(req, res);
  res.status(status).type('text').send(`${error}\n`);
};

/** 421 for a Host the board does not answer to (DNS rebinding), before any route. */
export function hostGuard(hosts: HostAllowList, logger: Logger) {
  let lastLogged = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    if (hosts.allows(req.headers.host)) return next();
    const now = Date.now();
    if (now - lastLogged > 60_000) {
      lastLogged = now;
      logger.warn(`request for host "${String(req.headers.host ?? '').slice(0, 100)}" refused (421): allowed are ${hosts.describe()}; a reverse proxy's name goes in BOARD_ALLOWED_HOSTS`);
    }
    refuse(req, res, 421, `this board does not answer to host "${String(req.headers.host ?? '').slice(0, 100)}" (allowed: ${hosts.describe()}; set BOARD_ALLOWED_HOSTS for a reverse proxy's name)`);
  };
}

/**
 * Every state-changing request from another site refused (403), Bull Board
 * included; a body on /queues or /api (but the replica upload) must be JSON (415).
 */
export function sameOriginGuard(hosts: HostAllowList, uploadPath: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const why = crossSiteReason(req.method, req.headers, hosts);
    if (why) return refuse(req, res, 403, why);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !req.path.startsWith(uploadPath) && hasNonJsonBody(req.headers)) {
      return refuse(req, res, 415, `${req.method} ${req.path.slice(0, 100)}: the body must be application/json`);
    }
    next();
  };
}

const QUEUE_RETRY_ALL = /^\/api\/queues\/([^/]+)\/retry\/(failed|completed)$/;
const JOB_ACTION = /^\/api\/queues\/([^/]+)\/([^/]+)\/(retry|promote)$/;

/**
 * What Bull Board may change (mounted at /queues, before its router): retry
 * (one job or all failed) and promote a delayed job, on every queue but
 * record. Adding jobs, cleaning, emptying, obliterating, pausing, editing
 * job data, concurrency, rate limits and Job Schedulers (the prune schedule)
 * are refused: retention and recording are the scheduler's to manage.
 */
export function bullBoardWriteGuard() {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const path = req.path.replace(/\/+$/, '');
    const m = (req.method === 'PUT' && (QUEUE_RETRY_ALL.exec(path) ?? JOB_ACTION.exec(path))) || null;
    const queue = m ? decodeURIComponent(m[1]!) : undefined;
    if (m && queue !== RECORD_QUEUE) return next();
    const what = `${req.method} ${path.slice(0, 120)}`;
    // JSON with error + message: Bull Board's UI shows them as its error toast.
    res.status(403).json({
      error: 'Not allowed here',
      message:
        queue === RECORD_QUEUE
          ? `Bull Board: the record queue is read-only (${what})`
          : `Bull Board: ${what} is not allowed; only retrying and promoting jobs are (the scheduler manages the rest)`,
    });
  };
}
