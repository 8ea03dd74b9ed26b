import { spawn } from 'node:child_process';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import type { SegmentIndex, SegmentRecord } from '@tapo/segment-index';
import { removeFilesOlderThan, resolveInside } from '@tapo/storage';
import type { ExportJobData, ExportProgress, ExportResult } from '@tapo/queues';
import { EXPORT_MAX_AGE_MS, exportFilePath, exportsDir } from './export-files.js';

export interface ExportDeps {
  index: SegmentIndex;
  getConfig(): RecorderConfig;
  logger: Logger;
}

/** Longest possible segment (config maximum): how far before `from` a segment may start and still overlap. */
const MAX_SEGMENT_MS = 3600 * 1000;

/** The camera's playable segments overlapping [fromMs, toMs), oldest first. */
export async function selectSegments(index: SegmentIndex, cameraId: string, fromMs: number, toMs: number): Promise<SegmentRecord[]> {
  const candidates = await index.range(cameraId, fromMs - MAX_SEGMENT_MS, toMs);
  return candidates.filter(
    (s) => s.status !== 'unrecoverable' && s.startMs < toMs && s.startMs + s.durationMs > fromMs,
  );
}

/** Deletes export files (and leftovers of interrupted exports) older than maxAgeMs. */
export async function removeOldExports(recordingsDir: string, maxAgeMs = EXPORT_MAX_AGE_MS): Promise<number> {
  return removeFilesOlderThan(exportsDir(recordingsDir), maxAgeMs);
}

function quote(file: string): string {
  return `'${file.replace(/'/g, `'\\''`)}'`;
}

async function probeDuration(file: string): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('error', () => resolve(0));
    p.on('close', () => resolve(Number(out.trim()) || 0));
  });
}

/**
 * The export job: the camera's segments overlapping [from, to] (whole segments:
 * no trimming to the exact instants), joined with ffmpeg's concat demuxer
 * without re-encoding into `<recordingsDir>/.exports/<jobId>.mp4` (fast start).
 * Written to a temporary name and renamed when complete.
 */
export async function processExport(
  deps: ExportDeps,
  job: Job<ExportJobData, ExportResult, string>,
  signal?: AbortSignal,
): Promise<ExportResult> {
  const { cameraId } = job.data;
  const fromMs = Date.parse(job.data.from);
  const toMs = Date.parse(job.data.to);
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) throw new UnrecoverableError('invalid time range');
  const jobId = String(job.id);
  const config = deps.getConfig();
  const root = config.recordingsDir;
  const segments = await selectSegments(deps.index, cameraId, fromMs, toMs);
  if (segments.length === 0) throw new UnrecoverableError(`no recording of ${cameraId} between ${job.data.from} and ${job.data.to}`);
  const files: string[] = [];
  for (const s of segments) {
    const abs = resolveInside(root, s.file);
    if (!abs) throw new UnrecoverableError(`segment path outside the recordings: ${s.file}`);
    files.push(abs);
  }
  const totalSeconds = segments.reduce((a, s) => a + s.durationMs / 1000, 0);
  const dir = exportsDir(root);
  await mkdir(dir, { recursive: true });
  await removeOldExports(root).catch(() => 0);
  // QuickTime segments (audio: copy, G.711) cannot go into MP4: the export is then a .mov.
  const ext = segments.some((s) => s.file.endsWith('.mov')) ? 'mov' : 'mp4';
  const final = exportFilePath(root, jobId, ext);
  const tmp = path.join(dir, `.${jobId}.part.${ext}`);
  const list = path.join(dir, `.${jobId}.list.txt`);
  await writeFile(list, files.map((f) => `file ${quote(f)}`).join('\n') + '\n');
  const report = (p: ExportProgress) => job.updateProgress(p as unknown as object).catch(() => {});
  await report({ percent: 0, outTimeSeconds: 0, totalSeconds, segments: segments.length });
  try {
    await new Promise<void>((resolve, reject) => {
      const args = [
        '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', '-y',
        '-f', 'concat', '-safe', '0', '-i', list,
        '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-f', ext === 'mov' ? 'mov' : 'mp4', tmp,
      ];
      if (signal?.aborted) return reject(new Error('export interrupted: the worker is shutting down'));
      const p = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const onAbort = () => {
        p.kill('SIGKILL');
        reject(new Error('export interrupted: the worker is shutting down'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      p.on('close', () => signal?.removeEventListener('abort', onAbort));
      let err = '';
      let buf = '';
      let lastReport = 0;
      p.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
      p.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          const m = /^out_time_(?:us|ms)=(\d+)$/.exec(line);
          if (m && Date.now() - lastReport > 500) {
            lastReport = Date.now();
            const out = Number(m[1]) / 1e6;
            const percent = totalSeconds > 0 ? Math.min(99, Math.round((out / totalSeconds) * 100)) : 0;
            void report({ percent, outTimeSeconds: out, totalSeconds, segments: segments.length });
          }
        }
      });
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
    });
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await rm(list, { force: true });
  }
  const bytes = (await stat(final)).size;
  const durationSeconds = (await probeDuration(final)) || totalSeconds;
  await report({ percent: 100, outTimeSeconds: durationSeconds, totalSeconds, segments: segments.length });
  deps.logger.info({ cameraId, jobId, segments: segments.length, bytes }, `export ${jobId}: ${segments.length} segment(s) of ${cameraId}, ${durationSeconds.toFixed(1)} s`);
  return { file: path.relative(root, final), bytes, durationSeconds, segments: segments.length };
}
