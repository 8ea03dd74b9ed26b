import { execa } from 'execa';

export interface ProbeStream {
  codec_type: string;
  codec_name: string;
  nb_read_frames?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  duration?: string;
}

export interface Probe {
  ok: boolean;
  error?: string;
  streams: ProbeStream[];
  durationSeconds: number;
  /** Duration of the first video stream (the container's includes audio padding). */
  videoSeconds: number;
  formatName?: string;
}

/** ffprobe a file: streams, container duration; `countFrames` decodes-free frame counting. */
export async function ffprobe(file: string, opts: { countFrames?: boolean } = {}): Promise<Probe> {
  const args = ['-v', 'error', '-show_entries', 'format=duration,format_name:stream=codec_type,codec_name,width,height,sample_rate,nb_read_frames,duration', '-of', 'json'];
  if (opts.countFrames) args.push('-count_frames');
  const r = await execa('ffprobe', [...args, file], { reject: false });
  if (r.exitCode !== 0) return { ok: false, error: r.stderr, streams: [], durationSeconds: 0, videoSeconds: 0 };
  const j = JSON.parse(r.stdout) as { streams?: ProbeStream[]; format?: { duration?: string; format_name?: string } };
  return {
    ok: true,
    ...(r.stderr ? { error: r.stderr } : {}),
    streams: j.streams ?? [],
    durationSeconds: Number(j.format?.duration ?? 0),
    videoSeconds: Number(j.streams?.find((st) => st.codec_type === 'video')?.duration ?? 0),
    ...(j.format?.format_name ? { formatName: j.format.format_name } : {}),
  };
}

/** Number of video frames ffprobe can read from a file (0 if unreadable). */
export async function countVideoFrames(file: string): Promise<number> {
  const r = await execa('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { reject: false });
  const n = Number(r.stdout.trim().split(/\s+/)[0]);
  return Number.isFinite(n) ? n : 0;
}
