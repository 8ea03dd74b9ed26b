import type { ClosedSegment, InterruptedSegment, OpenedSegment } from './camera-recorder.js';

/**
 * Where a recording worker reports the life of the files ffmpeg writes. The
 * composition root implements it once (segment lifecycle, live fragments);
 * the recorder only reports. Handlers must return at once: recording never
 * waits for them.
 */
export interface SegmentEvents {
  /** ffmpeg started writing a file (it grows from now on). */
  opened?(cameraId: string, seg: OpenedSegment): void;
  /** ffmpeg closed a file cleanly (listed in its segment list). */
  closed?(cameraId: string, seg: ClosedSegment): void;
  /** ffmpeg stopped while writing a file (killed, stalled, crashed). */
  interrupted?(cameraId: string, seg: InterruptedSegment): void;
}

/** One SegmentEvents that reports to each of `sinks` in turn (a throwing sink does not stop the others). */
export function fanOutSegmentEvents(...sinks: SegmentEvents[]): SegmentEvents {
  const each = <K extends keyof SegmentEvents>(k: K, call: (s: SegmentEvents) => void) => {
    for (const s of sinks) {
      if (!s[k]) continue;
      try {
        call(s);
      } catch {
        /* a reporting sink must not break recording */
      }
    }
  };
  return {
    opened: (cameraId, seg) => each('opened', (s) => s.opened!(cameraId, seg)),
    closed: (cameraId, seg) => each('closed', (s) => s.closed!(cameraId, seg)),
    interrupted: (cameraId, seg) => each('interrupted', (s) => s.interrupted!(cameraId, seg)),
  };
}
