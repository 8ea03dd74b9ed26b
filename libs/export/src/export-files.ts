import path from 'node:path';
import { isExportJobId } from '@tapo/queues';

/** Where finished exports are written: `<recordingsDir>/.exports`. */
export function exportsDir(recordingsDir: string): string {
  return path.join(recordingsDir, '.exports');
}

/** `<recordingsDir>/.exports/<jobId>.mp4` (`.mov` when the camera records QuickTime, audio: copy). */
export function exportFilePath(recordingsDir: string, jobId: string, ext: 'mp4' | 'mov' = 'mp4'): string {
  if (!isExportJobId(jobId)) throw new Error(`invalid export job id: ${jobId}`);
  return path.join(exportsDir(recordingsDir), `${jobId}.${ext}`);
}

/** Export files older than this are deleted (at the start of every export). */
export const EXPORT_MAX_AGE_MS = 24 * 3600 * 1000;
