import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Request, Response, Router } from 'express';
import express from 'express';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import type { SegmentIndex, SegmentRecord } from '@tapo/segment-index';
import { exportFilePath } from '@tapo/export';
import { EXPORT_JOB_NAME, EXPORT_JOB_OPTIONS, isExportJobId, type ExportQueue } from '@tapo/queues';
import { LruMap } from '@tapo/http-guard';
import { resolveRealInside, suspiciousRawPath, validCameraId, validSegmentParts } from './paths.js';

export interface BoardApiDeps {
  config?: ConfigSource;
  index: SegmentIndex;
  exportQueue?: ExportQueue;
  logger: Logger;
  /** Filled in with the router's cache sizes (for /metrics). */
  stats?: { thumbnailCacheEntries(): number };
  /** Minimum age of a thumbnail before it is made again (ms). */
  thumbnailMaxAgeMs?: number;
}

const DAY_MS = 24 * 3600 * 1000;
/** Longest export range accepted. */
const MAX_EXPORT_MS = 7 * DAY_MS;

function badRequest(res: Response, error: string): void {
  res.status(400).json({ error });
}

/** Parses ?from=&to= (ISO); defaults to the last 24 h. */
export function parseRange(q: Request['query'], defMs = DAY_MS): { fromMs: number; toMs: number } | string {
  const now = Date.now();
  const toMs = typeof q.to === 'string' && q.to ? Date.parse(q.to) : now;
  const fromMs = typeof q.from === 'string' && q.from ? Date.parse(q.from) : toMs - defMs;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return 'from/to must be ISO times';
  if (toMs < fromMs) return 'from must be before to';
  return { fromMs, toMs };
}

/** Segments overlapping [fromMs, toMs] (a segment may start up to an hour before). */
export async function segmentsOverlapping(index: SegmentIndex, camera: string, fromMs: number, toMs: number): Promise<SegmentRecord[]> {
  const all = await index.range(camera, fromMs - 3600_000, toMs);
  return all.filter((s) => s.startMs <= toMs && s.startMs + s.durationMs >= fromMs);
}

function contentTypeOf(file: string): string {
  return file.endsWith('.mov') ? 'video/quicktime' : 'video/mp4';
}

/** Sends a file (range requests supported) that was already resolved inside `root`. */
function sendVideo(res: Response, real: { root: string; rel: string }, downloadName?: string): void {
  res.type(contentTypeOf(real.rel));
  if (downloadName) res.setHeader('Content-Disposition', `attachment; filename="${downloadName.replace(/[^A-Za-z0-9_.-]/g, '_')}"`);
  res.sendFile(real.rel, { root: real.root, dotfiles: 'allow', acceptRanges: true, lastModified: true, cacheControl: false }, (err) => {
    if (err && !res.headersSent) res.status(404).json({ error: 'not found' });
  });
}

function grabFrame(file: string, atSeconds: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-ss', atSeconds.toFixed(2), '-i', file, '-frames:v', '1', '-vf', 'scale=640:-2', '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'];
    const p = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const buf = Buffer.concat(chunks);
      if (code === 0 && buf.length > 2 && buf[0] === 0xff && buf[1] === 0xd8) resolve(buf);
      else reject(new Error(`ffmpeg could not take a frame (${code}): ${err.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

/** The JSON API beside /api/cameras (segments, file streaming, thumbnails, exports). */
export function createApiRouter(deps: BoardApiDeps): Router {
  const r = express.Router();
  const recordingsDir = () => deps.config?.get().recordingsDir;
  const thumbMaxAge = deps.thumbnailMaxAgeMs ?? 30_000;
  // Only cameras of the config or the index get an entry (ids from the URL are not trusted), and at most 256.
  const thumbs = new LruMap<string, { at: number; jpeg?: Buffer; pending?: Promise<Buffer | undefined> }>(256);
  /** A camera of the config, or one with segments in the index. */
  if (deps.stats) deps.stats.thumbnailCacheEntries = () => thumbs.size;
  const knownCamera = async (id: string) => (deps.config?.get().cameras.some((c) => c.id === id) ?? false) || (await deps.index.cameras()).includes(id);

  // Reject encoded dots/slashes/backslashes/NUL in the raw path before anything decodes them.
  r.use((req, res, next) => {
    if (suspiciousRawPath(req.originalUrl)) return void badRequest(res, 'invalid path');
    next();
  });

  r.get('/cameras/:id/segments', async (req, res) => {
    const id = req.params.id;
    if (!validCameraId(id)) return void badRequest(res, 'invalid camera id');
    const range = parseRange(req.query);
    if (typeof range === 'string') return void badRequest(res, range);
    try {
      const segs = await segmentsOverlapping(deps.index, id, range.fromMs, range.toMs);
      res.json({
        camera: id,
        from: new Date(range.fromMs).toISOString(),
        to: new Date(range.toMs).toISOString(),
        segments: segs.map((s) => ({
          file: s.file,
          start: new Date(s.startMs).toISOString(),
          end: new Date(s.startMs + s.durationMs).toISOString(),
          durationSeconds: s.durationMs / 1000,
          bytes: s.bytes,
          status: s.status,
          host: s.host,
          url: `/api/segments/${s.file}`,
        })),
      });
    } catch (e) {
      res.status(503).json({ error: `cannot read the index: ${(e as Error).message}` });
    }
  });

  r.get('/segments/:camera/:day/:file', async (req, res) => {
    const root = recordingsDir();
    if (!root) return void res.status(404).json({ error: 'the board has no cameras file: recordings unknown' });
    const rel = validSegmentParts(req.params.camera, req.params.day, req.params.file);
    if (!rel) return void badRequest(res, 'invalid segment path');
    const real = await resolveRealInside(root, rel);
    if (!real) return void res.status(404).json({ error: 'not found' });
    sendVideo(res, real, req.query.download === '1' || req.query.download === 'true' ? path.basename(rel) : undefined);
  });

  r.get('/cameras/:id/thumbnail.jpg', async (req, res) => {
    const id = req.params.id;
    if (!validCameraId(id)) return void badRequest(res, 'invalid camera id');
    const root = recordingsDir();
    if (!root) return void res.status(404).json({ error: 'no recordings' });
    let entry = thumbs.get(id);
    if (!entry) {
      try {
        if (!(await knownCamera(id))) return void res.status(404).json({ error: `unknown camera ${id}` });
      } catch (e) {
        return void res.status(503).json({ error: `cannot read the index: ${(e as Error).message}` });
      }
      entry = thumbs.get(id);
    }
    if (!entry || (!entry.pending && Date.now() - entry.at >= thumbMaxAge)) {
      const prev = entry?.jpeg;
      const pending = (async () => {
        const st = await deps.index.stats(id);
        if (st.newestMs === undefined) return prev;
        const recent = await deps.index.range(id, st.newestMs - 3600_000, st.newestMs);
        const seg = [...recent].reverse().find((s) => s.status === 'ok' || s.status === 'repaired') ?? recent.at(-1);
        if (!seg) return prev;
        const real = await resolveRealInside(root, seg.file);
        if (!real) return prev;
        const at = Math.min(1, Math.max(0, seg.durationMs / 2000));
        return grabFrame(real.abs, at).catch((e: Error) => {
          deps.logger.debug({ err: e, camera: id }, 'thumbnail failed');
          return prev;
        });
      })();
      entry = { at: Date.now(), ...(prev ? { jpeg: prev } : {}), pending };
      thumbs.set(id, entry);
      const e = entry;
      void pending.then(
        (jpeg) => {
          if (jpeg) e.jpeg = jpeg;
          delete e.pending;
          e.at = Date.now();
        },
        () => delete e.pending,
      );
    }
    const jpeg = entry.jpeg ?? (await entry.pending?.catch(() => undefined));
    if (!jpeg) return void res.status(404).json({ error: 'no image yet' });
    res.setHeader('Cache-Control', 'no-cache');
    res.type('image/jpeg').send(jpeg);
  });

  r.post('/exports', express.json({ limit: '10kb' }), async (req, res) => {
    if (!deps.exportQueue) return void res.status(503).json({ error: 'exports are not available' });
    const body = (req.body ?? {}) as { camera?: unknown; from?: unknown; to?: unknown };
    const camera = body.camera;
    if (!validCameraId(camera)) return void badRequest(res, 'camera: invalid id');
    if (!(await knownCamera(camera))) return void res.status(404).json({ error: `unknown camera ${camera}` });
    const fromMs = typeof body.from === 'string' ? Date.parse(body.from) : NaN;
    const toMs = typeof body.to === 'string' ? Date.parse(body.to) : NaN;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return void badRequest(res, 'from and to must be ISO times');
    if (toMs <= fromMs) return void badRequest(res, 'from must be before to');
    if (toMs - fromMs > MAX_EXPORT_MS) return void badRequest(res, 'at most 7 days per export');
    try {
      const job = await deps.exportQueue.add(
        EXPORT_JOB_NAME,
        { cameraId: camera, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), requestedAt: new Date().toISOString() },
        EXPORT_JOB_OPTIONS,
      );
      res.status(202).json({ id: job.id, status: `/api/exports/${job.id}` });
    } catch (e) {
      res.status(503).json({ error: `cannot queue the export: ${(e as Error).message}` });
    }
  });

  r.get('/exports/:id', async (req, res) => {
    if (!deps.exportQueue) return void res.status(503).json({ error: 'exports are not available' });
    const id = req.params.id;
    if (!isExportJobId(id)) return void badRequest(res, 'invalid export id');
    // State first, then the job: a job read first and finishing in between would
    // say "failed" or "completed" without its failedReason or result.
    const state = await deps.exportQueue.getJobState(id);
    const job = await deps.exportQueue.getJob(id);
    if (!job || state === 'unknown') return void res.status(404).json({ error: 'no such export' });
    res.json({
      id,
      state,
      camera: job.data.cameraId,
      from: job.data.from,
      to: job.data.to,
      progress: job.progress,
      ...(state === 'completed' ? { result: job.returnvalue, downloadUrl: `/api/exports/${id}/file` } : {}),
      ...(state === 'failed' ? { failedReason: job.failedReason } : {}),
    });
  });

  r.get('/exports/:id/file', async (req, res) => {
    const root = recordingsDir();
    if (!deps.exportQueue || !root) return void res.status(404).json({ error: 'not found' });
    const id = req.params.id;
    if (!isExportJobId(id)) return void badRequest(res, 'invalid export id');
    const state = await deps.exportQueue.getJobState(id);
    const job = await deps.exportQueue.getJob(id);
    if (!job || state !== 'completed') return void res.status(404).json({ error: 'no finished export with this id' });
    const ext = job.returnvalue?.file?.endsWith('.mov') ? 'mov' : 'mp4';
    const real = await resolveRealInside(root, path.relative(root, exportFilePath(root, id, ext)));
    if (!real) return void res.status(404).json({ error: 'the export file is gone' });
    const name = `${job.data.cameraId}-${job.data.from.replace(/[:.]/g, '')}-export.${ext}`;
    sendVideo(res, real, name);
  });

  return r;
}
