import { mkdir } from 'node:fs/promises';
import { dayDir } from './naming.js';

/**
 * ffmpeg's segment muxer does not create folders: make sure the folders for
 * today and tomorrow (UTC) exist, so a segment opened just after midnight has
 * its folder. Called when recording starts and every few minutes after.
 */
export async function ensureDayFolders(recordingsDir: string, cameraId: string, now = new Date()): Promise<string[]> {
  const days = [now, new Date(now.getTime() + 24 * 3600 * 1000)];
  const dirs = days.map((d) => dayDir(recordingsDir, cameraId, d));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  return dirs;
}
