import { stat } from 'node:fs/promises';
import path from 'node:path';
import pidusage from 'pidusage';
import type { CameraConfig } from '@tapo/config';
import {
  buildRecordArgs,
  classifyFfmpegError,
  containerFor,
  describeFailure,
  type FfmpegFailure,
  type FfmpegProgress,
  type SegmentListEntry,
} from '@tapo/ffmpeg';
import { redactText, type Logger } from '@tapo/log';
import type { RecordState, RecorderSnapshot } from '@tapo/queues';

export type { RecorderSnapshot } from '@tapo/queues';
import { ensureDayFolders, ffmpegSegmentPattern, resolveListedSegment } from '@tapo/storage';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { startFfmpeg, type FfmpegExit, type FfmpegRun } from './ffmpeg-process.js';
import { probeRtsp } from './rtsp-probe.js';
import { STATS_PERIOD_MS, videoArrivedAt } from './progress-timing.js';
import { StallDetector } from './stall-detector.js';

export interface ClosedSegment {
  /** Absolute path. */
  path: string;
  /** Relative to recordingsDir. */
  file: string;
  /** Start / end on the input timeline of this ffmpeg run (seconds). */
  startSeconds: number;
  endSeconds: number;
  durationSeconds: number;
  bytes: number;
  closedAt: Date;
}

export interface OpenedSegment {
  /** Absolute path. */
  path: string;
  /** Relative to recordingsDir. */
  file: string;
}

export interface InterruptedSegment {
  path: string;
  file: string;
  reason: string;
}

export interface CameraRecorderOptions {
  cameraId: string;
  /** Looks the camera up in the current config (called before every ffmpeg start). */
  resolveCamera(): CameraConfig;
  recordingsDir: string;
  stallTimeoutSeconds: number;
  logger: Logger;
  ffmpegPath?: string;
  backoff?: BackoffOptions;
  /** Delay between attempts while the camera rejects our credentials. */
  authRetryMs?: number;
  onStateChange?(state: RecordState, reason: string | undefined): void;
  onSegmentOpened?(seg: OpenedSegment): void;
  onSegmentClosed?(seg: ClosedSegment): void;
  onSegmentInterrupted?(seg: InterruptedSegment): void;
  /** ffmpeg failed (classified), e.g. disk-full → emergency prune. */
  onFailure?(kind: FfmpegFailure, message: string): void;
  /** ffmpeg was found stalled and is being killed. */
  onStall?(reason: string): void;
  /** CPU below this (% of one core) in every sample over the stall window also counts as a stall. Default 0.1. */
  idleCpuPercent?: number;
  /** Warnings and errors from ffmpeg (already redacted), rate-limited. */
  onFfmpegMessage?(line: string): void;
}

const MESSAGES_PER_RUN = 20;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Keeps one camera recording: runs ffmpeg, watches its progress, restarts it
 * with backoff when it exits or stalls, until the signal aborts (then ffmpeg
 * is asked to quit cleanly so its last segment is finalised).
 */
export class CameraRecorder {
  private state: RecordState = 'starting';
  private run_: FfmpegRun | undefined;
  private runStartedAt: number | undefined;
  private progress: FfmpegProgress | undefined;
  private lastAdvanceAt = 0;
  /** When the current run's previous -progress block arrived. */
  private lastBlockAt = 0;
  /** The watchdog gave up on the current run: what it still reports is not live video. */
  private runStalled = false;
  private detector: StallDetector | undefined;
  private currentSegment: string | undefined;
  private closedInRun = new Set<string>();
  private bytesClosed = 0;
  private segmentsClosed = 0;
  private lastSegment: RecorderSnapshot['lastSegment'];
  private restarts = 0;
  private restartsByReason: Record<string, number> = {};
  private stalls = 0;
  private lastError: string | undefined;
  private lastErrorAt: string | undefined;
  private lastFailure: FfmpegFailure | undefined;
  private lastStall: RecorderSnapshot['lastStall'];
  private readonly backoff: Backoff;
  private readonly log: Logger;

  constructor(private readonly opts: CameraRecorderOptions) {
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
    this.log = opts.logger;
  }

  private setState(state: RecordState, reason?: string): void {
    if (state === this.state && reason === undefined) return;
    const changed = state !== this.state;
    this.state = state;
    if (changed) {
      this.log.info({ state, reason }, `camera ${this.opts.cameraId}: ${state}${reason ? ` (${reason})` : ''}`);
      this.opts.onStateChange?.(state, reason);
    }
  }

  private rel(p: string): string {
    return path.relative(this.opts.recordingsDir, p);
  }

  /** The heartbeat contents (stats the current segment for its size). */
  async snapshot(): Promise<RecorderSnapshot> {
    let currentBytes = 0;
    if (this.currentSegment && !this.closedInRun.has(this.currentSegment)) {
      try {
        currentBytes = (await stat(this.currentSegment)).size;
      } catch {
        /* not created yet or pruned */
      }
    }
    const p = this.progress;
    const snap: RecorderSnapshot = {
      state: this.state,
      outTimeSeconds: p?.outTimeUs !== undefined ? Math.max(0, p.outTimeUs / 1e6) : 0,
      frames: p?.frame ?? 0,
      fps: p?.fps ?? 0,
      speed: p?.speed ?? 0,
      bytes: this.bytesClosed + currentBytes,
      segmentsClosed: this.segmentsClosed,
      restarts: this.restarts,
      restartsByReason: { ...this.restartsByReason },
      stalls: this.stalls,
    };
    if (this.run_?.pid) snap.ffmpegPid = this.run_.pid;
    if (this.runStartedAt) snap.runStartedAt = new Date(this.runStartedAt).toISOString();
    if (this.currentSegment) snap.segment = this.rel(this.currentSegment);
    if (this.lastSegment) snap.lastSegment = this.lastSegment;
    if (this.lastAdvanceAt) snap.lastProgressAt = new Date(this.lastAdvanceAt).toISOString();
    if (this.lastError) snap.lastError = this.lastError;
    if (this.lastErrorAt) snap.lastErrorAt = this.lastErrorAt;
    if (this.lastFailure) snap.lastFailure = this.lastFailure;
    if (this.lastStall) snap.lastStall = this.lastStall;
    return snap;
  }

  get ffmpegPid(): number | undefined {
    return this.run_?.pid;
  }

  private onProgress(p: FfmpegProgress): void {
    const now = Date.now();
    const prev = this.progress;
    const prevBlockAt = this.lastBlockAt;
    this.lastBlockAt = now;
    const advanced =
      !prev ||
      (p.outTimeUs ?? 0) > (prev.outTimeUs ?? 0) ||
      (p.frame ?? 0) > (prev.frame ?? 0);
    this.progress = p;
    if (!advanced || ((p.frame ?? 0) <= 0 && (p.outTimeUs ?? 0) <= 0)) return;
    const at = videoArrivedAt({ now, prevBlockAt: prev ? prevBlockAt : undefined, final: p.progress === 'end', stalled: this.runStalled, statsPeriodMs: STATS_PERIOD_MS });
    if (at === undefined) return;
    this.lastAdvanceAt = Math.max(this.lastAdvanceAt, at);
    this.detector?.advanced(this.lastAdvanceAt);
    if (at === now && this.state !== 'recording' && this.state !== 'stopping') this.setState('recording');
  }

  private async onSegmentClosed(e: SegmentListEntry): Promise<void> {
    const abs = resolveListedSegment(this.opts.recordingsDir, e.name) ?? path.join(this.opts.recordingsDir, e.name);
    this.closedInRun.add(abs);
    let bytes = 0;
    try {
      bytes = (await stat(abs)).size;
    } catch {
      /* gone */
    }
    this.bytesClosed += bytes;
    this.segmentsClosed++;
    const seg: ClosedSegment = {
      path: abs,
      file: this.rel(abs),
      startSeconds: e.startSeconds,
      endSeconds: e.endSeconds,
      durationSeconds: Math.max(0, e.endSeconds - e.startSeconds),
      bytes,
      closedAt: new Date(),
    };
    this.lastSegment = {
      file: seg.file,
      durationSeconds: Number(seg.durationSeconds.toFixed(3)),
      bytes,
      closedAt: seg.closedAt.toISOString(),
    };
    this.log.debug({ segment: seg.file, duration: seg.durationSeconds, bytes }, 'segment closed');
    this.opts.onSegmentClosed?.(seg);
  }

  /** Runs until `signal` aborts. Returns the abort reason. */
  async run(signal: AbortSignal): Promise<unknown> {
    const stallMs = this.opts.stallTimeoutSeconds * 1000;
    let dayTimer: NodeJS.Timeout | undefined;
    while (!signal.aborted) {
      let camera: CameraConfig;
      try {
        camera = this.opts.resolveCamera();
        await ensureDayFolders(this.opts.recordingsDir, camera.id);
      } catch (e) {
        this.fail('unknown', redactText((e as Error).message));
        await sleep(this.backoff.next(0), signal);
        continue;
      }
      clearInterval(dayTimer);
      dayTimer = setInterval(() => {
        ensureDayFolders(this.opts.recordingsDir, camera.id).catch((e: Error) =>
          this.log.warn({ err: e }, 'cannot create day folder'),
        );
      }, 10 * 60 * 1000);
      dayTimer.unref();

      const args = buildRecordArgs({
        url: camera.url,
        outputPattern: ffmpegSegmentPattern(this.opts.recordingsDir, camera.id, containerFor(camera.audio)),
        segmentSeconds: camera.segmentSeconds,
        audio: camera.audio,
        statsPeriodSeconds: STATS_PERIOD_MS / 1000,
        logLevel: 'info',
      });
      this.progress = undefined;
      this.runStalled = false;
      this.currentSegment = undefined;
      this.closedInRun = new Set();
      this.runStartedAt = Date.now();
      let messages = 0;
      let suppressed = 0;
      let stallReason: string | undefined;
      const run = startFfmpeg(this.opts.ffmpegPath ?? 'ffmpeg', args, {
        onProgress: (p) => this.onProgress(p),
        onSegmentClosed: (e) => void this.onSegmentClosed(e),
        onSegmentOpened: (f) => {
          const abs = path.resolve(f);
          this.currentSegment = abs;
          this.opts.onSegmentOpened?.({ path: abs, file: this.rel(abs) });
        },
        onStderrLine: (raw) => {
          const line = redactText(raw);
          const important = /\[(warning|error|fatal|panic)\]/.test(line);
          if (!important) {
            this.log.trace({ ffmpeg: line }, 'ffmpeg');
            return;
          }
          if (messages < MESSAGES_PER_RUN) {
            messages++;
            this.log.warn({ ffmpeg: line }, 'ffmpeg says');
            this.opts.onFfmpegMessage?.(line);
          } else suppressed++;
        },
      });
      this.run_ = run;
      this.log.debug({ pid: run.pid }, 'ffmpeg started');

      const onAbort = () => {
        this.setState('stopping', String(signal.reason ?? 'stop requested'));
        void run.quit(5000);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // Watchdog: no progress for stallTimeoutSeconds, or sooner when progress
      // stopped and the CPU (as the original monitor checked) is idle since.
      // CPU is sampled (every second) only while progress has stopped.
      const detector = new StallDetector(stallMs, this.opts.idleCpuPercent ?? 0.1, this.runStartedAt);
      this.detector = detector;
      let sampling = false;
      let lastSample = 0;
      const watchdog = setInterval(() => {
        if (signal.aborted || stallReason) return;
        const now = Date.now();
        const reason = detector.check(now);
        if (reason) {
          stallReason = reason;
          this.runStalled = true;
          this.lastStall = { at: new Date(now).toISOString(), reason };
          this.stalls++;
          this.log.warn({ reason, pid: run.pid }, `ffmpeg stalled (${reason}): killing it`);
          this.opts.onStall?.(reason);
          void run.terminate(1000);
          return;
        }
        if (run.pid && !sampling && detector.wantsCpu(now) && now - lastSample >= 1000) {
          sampling = true;
          // pidusage measures since its previous call for this pid: [lastSample, now].
          const from = lastSample;
          lastSample = now;
          pidusage(run.pid)
            .then((u) => detector.cpu(from, Date.now(), u.cpu))
            .catch(() => {})
            .finally(() => (sampling = false));
        }
      }, 500);

      const exit: FfmpegExit = await run.exited;
      clearInterval(watchdog);
      if (run.pid) pidusage.clear();
      signal.removeEventListener('abort', onAbort);
      if (suppressed > 0) this.log.warn(`${suppressed} more ffmpeg messages suppressed in this run`);
      const healthyMs = Math.max(0, this.lastAdvanceAt - (this.runStartedAt ?? 0));
      // Give the segment list pipe a moment to deliver the last entries.
      await new Promise((r) => setTimeout(r, 50));

      const interrupted =
        this.currentSegment && !this.closedInRun.has(this.currentSegment) ? this.currentSegment : undefined;
      this.run_ = undefined;
      if (signal.aborted) {
        if (interrupted && exit.code !== 0) {
          this.opts.onSegmentInterrupted?.({ path: interrupted, file: this.rel(interrupted), reason: 'stopped' });
        }
        break;
      }

      const kind: FfmpegFailure = stallReason ? 'timeout' : classifyFfmpegError(exit.stderrTail);
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const message = stallReason
        ? `camera ${this.opts.cameraId}: ffmpeg stalled (${stallReason}); restarting`
        : `${describeFailure(kind, this.opts.cameraId)} (ffmpeg ${how})`;
      if (interrupted) {
        this.opts.onSegmentInterrupted?.({ path: interrupted, file: this.rel(interrupted), reason: message });
      }
      this.fail(kind, message, exit);
      this.restarts++;
      const why = stallReason ? 'stall' : kind;
      this.restartsByReason[why] = (this.restartsByReason[why] ?? 0) + 1;
      const delay = kind === 'auth' ? (this.opts.authRetryMs ?? 60_000) : this.backoff.next(healthyMs);
      this.log.info({ delayMs: delay }, `restarting ffmpeg in ${(delay / 1000).toFixed(1)}s`);
      if (kind === 'auth' || delay <= 1000) await sleep(delay, signal);
      else await this.waitForCamera(camera.url, delay, signal);
    }
    clearInterval(dayTimer);
    this.setState('stopped', String(signal.reason ?? 'stopped'));
    return signal.reason;
  }

  /**
   * Backoff that ends early when the camera answers again: after 1 s, a cheap
   * RTSP OPTIONS probe every second; ffmpeg starts as soon as one answers (a
   * camera back from an outage records again within about a second, whatever
   * the backoff had grown to).
   */
  private async waitForCamera(url: string, delayMs: number, signal: AbortSignal): Promise<void> {
    const until = Date.now() + delayMs;
    await sleep(1000, signal);
    while (!signal.aborted && Date.now() < until) {
      if (await probeRtsp(url, 800)) {
        this.log.info('camera answers again: restarting ffmpeg now');
        return;
      }
      await sleep(Math.min(1000, Math.max(0, until - Date.now())), signal);
    }
  }

  private fail(kind: FfmpegFailure, message: string, exit?: FfmpegExit): void {
    this.lastFailure = kind;
    this.lastError = redactText(message);
    this.lastErrorAt = new Date().toISOString();
    const detail = exit?.stderrTail.slice(-5).map(redactText);
    this.setState(kind === 'auth' ? 'auth-failed' : 'reconnecting', this.lastError);
    this.log.warn({ failure: kind, ffmpegTail: detail }, this.lastError);
    this.opts.onFailure?.(kind, this.lastError);
  }
}
