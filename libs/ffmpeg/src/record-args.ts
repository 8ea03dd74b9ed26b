export type AudioMode = 'aac' | 'copy' | 'off';

export interface RecordArgsInput {
  /** Camera URL, with credentials (only ever passed to ffmpeg's argv). */
  url: string;
  /** strftime pattern for the segment muxer (ffmpeg must run with TZ=UTC). */
  outputPattern: string;
  segmentSeconds: number;
  audio: AudioMode;
  /** RTSP socket I/O timeout. Default 5 s. */
  socketTimeoutSeconds?: number;
  /** Longest fragment: bounds what a kill -9 can lose. Default 0.5 s. */
  fragmentSeconds?: number;
  /** File descriptor (in ffmpeg) that receives the segment list (csv). Default 3. */
  segmentListFd?: number;
  /** Seconds between -progress blocks (the watchdog's and heartbeat's view of ffmpeg). Default 1. */
  statsPeriodSeconds?: number;
  logLevel?: 'error' | 'warning' | 'info';
}

/** Container for a given audio mode: MP4 cannot hold G.711 (PCMA), so `copy` records QuickTime .mov. */
export function containerFor(audio: AudioMode): 'mp4' | 'mov' {
  return audio === 'copy' ? 'mov' : 'mp4';
}

/**
 * Arguments for one recording ffmpeg: RTSP over TCP, video stream-copied,
 * audio per mode, segment muxer writing fragmented MP4 (crash-safe), UTC
 * strftime names, segment list on a pipe, machine-readable progress on stdout.
 * stdin stays open: writing "q" to it stops ffmpeg cleanly.
 */
export function buildRecordArgs(input: RecordArgsInput): string[] {
  const timeoutUs = Math.round((input.socketTimeoutSeconds ?? 5) * 1_000_000);
  const fragUs = Math.round((input.fragmentSeconds ?? 0.5) * 1_000_000);
  const listFd = input.segmentListFd ?? 3;
  const format = containerFor(input.audio);
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel', `level+${input.logLevel ?? 'warning'}`,
    '-progress', 'pipe:1',
    '-stats_period', String(input.statsPeriodSeconds ?? 1),
    // input
    '-rtsp_transport', 'tcp',
    '-timeout', String(timeoutUs),
    '-fflags', '+genpts+discardcorrupt',
    '-i', input.url,
    // streams
    '-map', '0:v:0',
  ];
  if (input.audio !== 'off') args.push('-map', '0:a:0?');
  args.push('-c:v', 'copy');
  if (input.audio === 'aac') args.push('-c:a', 'aac', '-b:a', '32k');
  else if (input.audio === 'copy') args.push('-c:a', 'copy');
  args.push(
    '-avoid_negative_ts', 'make_zero',
    '-f', 'segment',
    '-segment_time', String(input.segmentSeconds),
    '-segment_format', format,
    '-segment_format_options',
    `movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=${fragUs}:flush_packets=1`,
    '-reset_timestamps', '1',
    '-strftime', '1',
    '-segment_list', `pipe:${listFd}`,
    '-segment_list_type', 'csv',
    input.outputPattern,
  );
  return args;
}
