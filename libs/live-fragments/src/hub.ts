import { LiveFragmentStream, type LiveFragmentStreamOptions, type LiveStreamStats } from './live-fragment-stream.js';

/** A file ffmpeg writes, as the recorder reports it (structurally @tapo/recorder's OpenedSegment). */
interface ReportedFile {
  /** Absolute path. */
  path: string;
}

/**
 * The live fragment streams of one worker process: one per camera it records,
 * fed by the recorder's segment reports (opened / closed / interrupted) and
 * read by live view and live replicas. A stream nobody subscribes to only
 * remembers its current file (no reads).
 */
export class LiveFragmentHub {
  private readonly streams = new Map<string, LiveFragmentStream>();
  private closed = false;

  constructor(private readonly defaults: Omit<LiveFragmentStreamOptions, 'cameraId'> = {}) {}

  /** The camera's stream (created on first use). */
  stream(cameraId: string): LiveFragmentStream {
    let s = this.streams.get(cameraId);
    if (!s) {
      s = new LiveFragmentStream({ ...this.defaults, cameraId });
      if (!this.closed) this.streams.set(cameraId, s);
    }
    return s;
  }

  /** True while this process's ffmpeg writes a segment of the camera (not after it moved to another worker). */
  isRecording(cameraId: string): boolean {
    return this.streams.get(cameraId)?.recording ?? false;
  }

  /** Cameras with a stream, i.e. recorded here since this process started. */
  cameras(): string[] {
    return [...this.streams.keys()];
  }

  stats(): LiveStreamStats[] {
    return [...this.streams.values()].map((s) => s.stats());
  }

  /** The recorder's reports (a SegmentEvents of @tapo/recorder). */
  readonly segmentEvents = {
    opened: (cameraId: string, seg: ReportedFile): void => {
      if (!this.closed) this.stream(cameraId).segmentOpened(seg.path);
    },
    closed: (cameraId: string, seg: ReportedFile): void => {
      this.streams.get(cameraId)?.segmentClosed(seg.path);
    },
    interrupted: (cameraId: string, seg: ReportedFile): void => {
      this.streams.get(cameraId)?.segmentClosed(seg.path);
    },
  };

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.streams.values()].map((s) => s.close()));
    this.streams.clear();
  }
}
