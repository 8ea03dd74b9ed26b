import path from 'node:path';

/**
 * On-disk contract:
 *   <recordingsDir>/<cameraId>/<YYYY-MM-DD>/<cameraId>-<YYYYMMDD>T<HHMMSS>Z.<ext>
 * named by the UTC start of the segment.
 */

export type SegmentExt = 'mp4' | 'mov';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-11-27` (UTC). */
export function dayFolderName(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `living-room-20261127T071746Z.mp4` */
export function segmentFileName(cameraId: string, start: Date, ext: SegmentExt = 'mp4'): string {
  const stamp =
    `${d4(start.getUTCFullYear())}${pad(start.getUTCMonth() + 1)}${pad(start.getUTCDate())}` +
    `T${pad(start.getUTCHours())}${pad(start.getUTCMinutes())}${pad(start.getUTCSeconds())}Z`;
  return `${cameraId}-${stamp}.${ext}`;
}

function d4(n: number): string {
  return pad(n, 4);
}

export function cameraDir(recordingsDir: string, cameraId: string): string {
  return path.join(recordingsDir, cameraId);
}

export function dayDir(recordingsDir: string, cameraId: string, day: Date): string {
  return path.join(recordingsDir, cameraId, dayFolderName(day));
}

export function segmentPath(recordingsDir: string, cameraId: string, start: Date, ext: SegmentExt = 'mp4'): string {
  return path.join(dayDir(recordingsDir, cameraId, start), segmentFileName(cameraId, start, ext));
}

/**
 * The strftime pattern handed to ffmpeg's segment muxer. ffmpeg must run with TZ=UTC
 * so that strftime yields UTC. `%` in the directory part is escaped.
 */
export function ffmpegSegmentPattern(recordingsDir: string, cameraId: string, ext: SegmentExt = 'mp4'): string {
  const base = path.join(recordingsDir, cameraId).replace(/%/g, '%%');
  return path.join(base, '%Y-%m-%d', `${cameraId}-%Y%m%dT%H%M%SZ.${ext}`);
}

const NAME = /^([a-z0-9_-]{1,64})-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.(mp4|mov)$/;

export interface ParsedSegmentName {
  cameraId: string;
  start: Date;
  ext: SegmentExt;
}

/** Parses a segment file name (basename). Returns undefined for anything else. */
export function parseSegmentFileName(name: string): ParsedSegmentName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, cameraId, y, mo, d, h, mi, s, ext] = m;
  const start = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!));
  if (Number.isNaN(start.getTime())) return undefined;
  return { cameraId: cameraId!, start, ext: ext as SegmentExt };
}

/** The absolute path of a segment named in ffmpeg's segment list (which holds basenames). */
export function resolveListedSegment(recordingsDir: string, listed: string): string | undefined {
  const parsed = parseSegmentFileName(path.basename(listed));
  if (!parsed) return undefined;
  return segmentPath(recordingsDir, parsed.cameraId, parsed.start, parsed.ext);
}

/**
 * Resolves `relative` inside `root`; returns undefined if the result would escape
 * root (`..`, absolute paths, encoded variants must be decoded by the caller first).
 */
export function resolveInside(root: string, relative: string): string | undefined {
  const rootAbs = path.resolve(root);
  const target = path.resolve(rootAbs, relative);
  if (target !== rootAbs && !target.startsWith(rootAbs + path.sep)) return undefined;
  return target;
}
