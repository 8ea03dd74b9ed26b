import { describe, expect, it } from 'vitest';
import {
  ProgressParser,
  SegmentListParser,
  buildRecordArgs,
  classifyFfmpegError,
  containerFor,
  describeFailure,
  parseSegmentListLine,
  type FfmpegProgress,
} from './index.js';

const base = {
  url: 'rtsp://u:p@192.168.1.20:554/stream1',
  outputPattern: '/rec/cam/%Y-%m-%d/cam-%Y%m%dT%H%M%SZ.mp4',
  segmentSeconds: 60,
};

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('buildRecordArgs', () => {
  it('records RTSP over TCP with a socket timeout, copies video, segments fragmented MP4', () => {
    const args = buildRecordArgs({ ...base, audio: 'aac' });
    expect(after(args, '-rtsp_transport')).toBe('tcp');
    expect(after(args, '-timeout')).toBe('5000000');
    expect(after(args, '-i')).toBe(base.url);
    expect(after(args, '-c:v')).toBe('copy');
    expect(after(args, '-c:a')).toBe('aac');
    expect(after(args, '-f')).toBe('segment');
    expect(after(args, '-segment_time')).toBe('60');
    expect(after(args, '-segment_format')).toBe('mp4');
    expect(after(args, '-segment_format_options')).toBe(
      'movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=500000:flush_packets=1',
    );
    expect(after(args, '-reset_timestamps')).toBe('1');
    expect(after(args, '-strftime')).toBe('1');
    expect(after(args, '-segment_list')).toBe('pipe:3');
    expect(after(args, '-segment_list_type')).toBe('csv');
    expect(after(args, '-progress')).toBe('pipe:1');
    expect(after(args, '-stats_period')).toBe('1');
    expect(args).not.toContain('-nostdin'); // "q" on stdin stops it cleanly
    expect(args.at(-1)).toBe(base.outputPattern);
    // Audio is optional in the input (a camera without a microphone still records).
    expect(args.join(' ')).toContain('-map 0:v:0 -map 0:a:0?');
    // Video is never re-encoded.
    expect(args).not.toContain('libx264');
  });

  it('copy keeps the camera audio in a container that accepts G.711', () => {
    const args = buildRecordArgs({ ...base, audio: 'copy' });
    expect(after(args, '-c:a')).toBe('copy');
    expect(after(args, '-segment_format')).toBe('mov');
    expect(containerFor('copy')).toBe('mov');
    expect(containerFor('aac')).toBe('mp4');
  });

  it('off drops audio', () => {
    const args = buildRecordArgs({ ...base, audio: 'off' });
    expect(args).not.toContain('-c:a');
    expect(args.join(' ')).not.toContain('0:a');
  });

  it('honours timeout, fragment and list fd options', () => {
    const args = buildRecordArgs({ ...base, audio: 'aac', socketTimeoutSeconds: 3, fragmentSeconds: 1, segmentListFd: 4 });
    expect(after(args, '-timeout')).toBe('3000000');
    expect(after(args, '-segment_format_options')).toContain('frag_duration=1000000');
    expect(after(args, '-segment_list')).toBe('pipe:4');
  });
});

describe('ProgressParser', () => {
  const block = `frame=150
fps=15.01
stream_0_0_q=-1.0
bitrate=N/A
total_size=N/A
out_time_us=10040000
out_time_ms=10040000
out_time=00:00:10.040000
dup_frames=0
drop_frames=0
speed=1.01x
progress=continue
`;
  it('parses a block', () => {
    const got: FfmpegProgress[] = [];
    new ProgressParser((p) => got.push(p)).push(block);
    expect(got).toEqual([
      { progress: 'continue', frame: 150, fps: 15.01, outTimeUs: 10040000, speed: 1.01, dupFrames: 0, dropFrames: 0 },
    ]);
  });

  it('handles chunks split anywhere, CRLF, and the final block', () => {
    const got: FfmpegProgress[] = [];
    const parser = new ProgressParser((p) => got.push(p));
    const text = block.replace(/\n/g, '\r\n') + block.replace('continue', 'end').replace('frame=150', 'frame=165');
    for (let i = 0; i < text.length; i += 7) parser.push(Buffer.from(text.slice(i, i + 7)));
    expect(got).toHaveLength(2);
    expect(got[1]).toMatchObject({ progress: 'end', frame: 165 });
  });

  it('treats N/A and negative start values safely', () => {
    const got: FfmpegProgress[] = [];
    new ProgressParser((p) => got.push(p)).push('frame=0\nfps=0.00\nout_time_us=N/A\nspeed=N/A\nbitrate= 512.3kbits/s\nprogress=continue\n');
    expect(got[0]).toEqual({ progress: 'continue', frame: 0, fps: 0, bitrateKbps: 512.3 });
  });
});

describe('segment list', () => {
  it('parses csv lines', () => {
    expect(parseSegmentListLine('cam-20261127T071746Z.mp4,0.000000,2.133333')).toEqual({
      name: 'cam-20261127T071746Z.mp4',
      startSeconds: 0,
      endSeconds: 2.133333,
    });
    expect(parseSegmentListLine('"a,""b"".mp4",1.5,3')).toEqual({ name: 'a,"b".mp4', startSeconds: 1.5, endSeconds: 3 });
    expect(parseSegmentListLine('')).toBeUndefined();
    expect(parseSegmentListLine('garbage')).toBeUndefined();
  });
  it('streams entries', () => {
    const names: string[] = [];
    const p = new SegmentListParser((e) => names.push(e.name));
    p.push('a.mp4,0,1\nb.mp');
    p.push('4,1,2\n');
    expect(names).toEqual(['a.mp4', 'b.mp4']);
  });
});

describe('classifyFfmpegError', () => {
  it.each([
    ['[error] [rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized', 'auth'],
    ['[error] rtsp://***@h/stream9: Server returned 404 Not Found', 'not-found'],
    ['[error] rtsp://***@h:554/stream1: Connection refused', 'refused'],
    ['[error] rtsp://***@h/s: No route to host', 'unreachable'],
    ['[error] Failed to resolve hostname nocam.local: Name or service not known', 'dns'],
    ['[error] rtsp://***@h/s: Connection timed out', 'timeout'],
    ['[error] Failed to open segment \'/rec/x.mp4\'', 'storage'],
    ['[error] av_interleaved_write_frame(): No space left on device', 'disk-full'],
    ['[error] Could not find tag for codec pcm_alaw in stream #1, codec not currently supported in container', 'unsupported'],
    ['something else', 'unknown'],
  ])('%s → %s', (line, kind) => {
    expect(classifyFfmpegError(['[info] Input #0', line])).toBe(kind);
  });
  it('describes auth failures by camera', () => {
    expect(describeFailure('auth', 'garden')).toMatch(/^authentication failed for camera garden/);
  });
});
