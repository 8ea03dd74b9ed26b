/** Why an ffmpeg run failed, read from its stderr. */
export type FfmpegFailure =
  | 'auth'
  | 'not-found'
  | 'refused'
  | 'unreachable'
  | 'dns'
  | 'timeout'
  | 'unavailable'
  | 'disk-full'
  | 'storage'
  | 'unsupported'
  | 'stream-ended'
  | 'unknown';

const RULES: Array<[FfmpegFailure, RegExp]> = [
  ['auth', /401 Unauthorized|Unauthorized|authorization failed/i],
  ['not-found', /404 Not Found|Server returned 404/i],
  ['disk-full', /No space left on device|ENOSPC/i],
  ['refused', /Connection refused/i],
  ['unreachable', /No route to host|Network is unreachable|Host is unreachable/i],
  ['dns', /Name or service not known|Temporary failure in name resolution|Failed to resolve hostname|nodename nor servname/i],
  ['timeout', /timed out|Connection timed out|Operation timed out/i],
  ['unavailable', /503 Service Unavailable|Server returned 5\d\d/i],
  ['unsupported', /not currently supported in container|Could not find tag for codec/i],
  ['storage', /Failed to open segment|Permission denied|Read-only file system|Could not write header/i],
];

/** Classifies by the first matching rule over the given stderr lines (newest last). */
export function classifyFfmpegError(lines: readonly string[]): FfmpegFailure {
  const text = lines.join('\n');
  for (const [kind, re] of RULES) if (re.test(text)) return kind;
  if (/End of file|Invalid data found when processing input/i.test(text)) return 'stream-ended';
  return 'unknown';
}

/** A one-line human explanation for a failure kind. */
export function describeFailure(kind: FfmpegFailure, cameraId: string): string {
  switch (kind) {
    case 'auth':
      return `authentication failed for camera ${cameraId}: check the camera account's user name and password`;
    case 'not-found':
      return `camera ${cameraId}: stream not found (404): check the path in the URL (Tapo: /stream1 or /stream2)`;
    case 'refused':
      return `camera ${cameraId}: connection refused (is the camera on, and RTSP port 554 right?)`;
    case 'unreachable':
      return `camera ${cameraId}: no route to the camera (unplugged or off the network?)`;
    case 'dns':
      return `camera ${cameraId}: host name does not resolve`;
    case 'timeout':
      return `camera ${cameraId}: connection timed out`;
    case 'unavailable':
      return `camera ${cameraId}: the camera answered 503 (busy or failing)`;
    case 'disk-full':
      return `camera ${cameraId}: disk full while writing segments`;
    case 'storage':
      return `camera ${cameraId}: cannot write segment files (folder missing or not writable)`;
    case 'unsupported':
      return `camera ${cameraId}: a stream cannot go into the container (set audio: aac or off)`;
    case 'stream-ended':
      return `camera ${cameraId}: the stream ended`;
    default:
      return `camera ${cameraId}: ffmpeg failed`;
  }
}
