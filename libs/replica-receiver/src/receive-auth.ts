import { createHash, timingSafeEqual } from 'node:crypto';
import type { ReceiveToken } from '@tapo/config';
import { dayFolderName, parseSegmentFileName, resolveInside, segmentFileName, type SegmentExt } from '@tapo/storage';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The token entry whose token equals the request's bearer token. Every
 * configured token is compared (constant time, on fixed-length digests) so
 * that timing tells nothing about which or how much matched.
 */
export function matchBearer(authorization: string | undefined, tokens: readonly ReceiveToken[]): ReceiveToken | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const given = digest(m[1]!);
  let found: ReceiveToken | undefined;
  for (const t of tokens) {
    if (timingSafeEqual(given, digest(t.token)) && !found) found = t;
  }
  return found;
}

const CAMERA = /^[a-z0-9_-]{1,64}$/;

/**
 * True when the raw (still percent-encoded) request path carries anything
 * that could name another file: encoded dots, slashes, backslashes, NUL or
 * percent signs, a literal backslash, "." or ".." segments.
 */
export function suspiciousRawPath(rawUrl: string): boolean {
  const p = rawUrl.split('?')[0] ?? '';
  return /%2e|%2f|%5c|%00|%25|\\|\0/i.test(p) || p.split('/').some((s) => s === '..' || s === '.');
}

export interface ReceiveTarget {
  /** Camera id on this installation: cameraPrefix + the sender's id. */
  cameraId: string;
  /** Stored base name (uses the stored camera id). */
  fileName: string;
  /** Relative to recordingsDir. */
  rel: string;
  /** Absolute, inside recordingsDir. */
  abs: string;
  startMs: number;
  ext: SegmentExt;
}

/**
 * Where an upload of `file` for the sender's `camera` goes, or a reason why it
 * cannot. The path is built only from the parsed name through the naming
 * contract and checked with resolveInside: nothing from the request reaches
 * the file system as text.
 */
export function receiveTarget(recordingsDir: string, prefix: string, camera: unknown, file: unknown): ReceiveTarget | { error: string } {
  if (typeof camera !== 'string' || !CAMERA.test(camera)) return { error: 'invalid camera id' };
  if (typeof file !== 'string') return { error: 'invalid file name' };
  const parsed = parseSegmentFileName(file);
  if (!parsed) return { error: 'not a segment file name (<camera>-<YYYYMMDD>T<HHMMSS>Z.mp4)' };
  if (parsed.cameraId !== camera) return { error: `the file name belongs to camera "${parsed.cameraId}", not "${camera}"` };
  const cameraId = `${prefix}${camera}`;
  if (!CAMERA.test(cameraId)) return { error: `the stored camera id "${cameraId}" (prefix + camera) is not a valid camera id` };
  const fileName = segmentFileName(cameraId, parsed.start, parsed.ext);
  const rel = `${cameraId}/${dayFolderName(parsed.start)}/${fileName}`;
  const abs = resolveInside(recordingsDir, rel);
  if (!abs) return { error: 'invalid path' };
  return { cameraId, fileName, rel, abs, startMs: parsed.start.getTime(), ext: parsed.ext };
}
