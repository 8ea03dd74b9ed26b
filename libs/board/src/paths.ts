import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { parseSegmentFileName, resolveInside } from '@tapo/storage';

const CAMERA = /^[a-z0-9_-]{1,64}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * True when the raw (still percent-encoded) path of a request carries something
 * that could name a file outside: encoded dots, slashes, backslashes, NUL, or a
 * literal backslash / "..". Checked before any decoding.
 */
export function suspiciousRawPath(rawUrl: string): boolean {
  const p = rawUrl.split('?')[0] ?? '';
  return /%2e|%2f|%5c|%00|%25|\\|\0/i.test(p) || p.split('/').some((s) => s === '..' || s === '.');
}

/** Checks the parts of a segment path: `<camera>/<YYYY-MM-DD>/<camera>-<stamp>Z.<mp4|mov>`. Returns the relative path. */
export function validSegmentParts(camera: string, day: string, file: string): string | undefined {
  if (!CAMERA.test(camera) || !DAY.test(day)) return undefined;
  const parsed = parseSegmentFileName(file);
  if (!parsed || parsed.cameraId !== camera) return undefined;
  if (parsed.start.toISOString().slice(0, 10) !== day) return undefined;
  return `${camera}/${day}/${file}`;
}

/** `cam/day/file` (from a query string) → validated relative path. */
export function validSegmentRel(rel: string): string | undefined {
  if (typeof rel !== 'string' || rel.includes('\\') || rel.includes('\0')) return undefined;
  const parts = rel.split('/');
  if (parts.length !== 3) return undefined;
  return validSegmentParts(parts[0]!, parts[1]!, parts[2]!);
}

export function validCameraId(id: unknown): id is string {
  return typeof id === 'string' && CAMERA.test(id);
}

/**
 * Resolves `rel` inside `root` and follows symlinks: the real file must be inside
 * the real root. Returns the real root and the real path relative to it, or
 * undefined (missing file, escape).
 */
export async function resolveRealInside(root: string, rel: string): Promise<{ root: string; rel: string; abs: string } | undefined> {
  if (path.isAbsolute(rel) || rel.includes('\0') || rel.includes('\\')) return undefined;
  const abs = resolveInside(root, rel);
  if (!abs) return undefined;
  let realRoot: string;
  let realFile: string;
  try {
    realRoot = await realpath(root);
    realFile = await realpath(abs);
  } catch {
    return undefined;
  }
  if (!realFile.startsWith(realRoot + path.sep)) return undefined;
  return { root: realRoot, rel: path.relative(realRoot, realFile), abs: realFile };
}
