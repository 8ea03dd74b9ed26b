import { Gauge, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { CameraStatus } from '@tapo/status';

/** States a camera can be shown in; the state gauge has one series per state (1 = current). */
export const CAMERA_STATES = [
  'starting',
  'recording',
  'reconnecting',
  'auth-failed',
  'stopping',
  'stopped',
  'queued',
  'disabled',
  'failed',
  'not scheduled',
] as const;

const JOB_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

export interface BoardMetrics {
  registry: Registry;
  /** Refreshes every gauge, then renders the Prometheus text format. */
  render(): Promise<string>;
  contentType: string;
}

/**
 * Prometheus metrics, computed at each scrape from the heartbeats, the index
 * and the queues (the board holds no counters of its own: the heartbeat values
 * are gauges that restart at 0 with a new record job).
 */
export function createBoardMetrics(sources: {
  cameras(): Promise<CameraStatus[]>;
  queues: Array<{ name: string; queue: Pick<Queue, 'getJobCounts'> }>;
  /** Install-wide event counters (prune deletions, repair outcomes). */
  counters?(): Promise<Record<string, number>>;
  /** The board's own guards and caches (tapo_board_<name>): refused connections, cut requests, cache sizes. */
  board?(): Record<string, number>;
  /** Live copies per replica target and camera (from the workers' reports). */
  liveReplicas?(): Promise<Array<{ target: string; camera: string; lagSeconds: number; bytesPerHour: number; requestsPerHour: number; up: boolean }>>;
}): BoardMetrics {
  const registry = new Registry();
  const labels = ['camera'] as const;
  const g = (name: string, help: string, labelNames: readonly string[] = labels) =>
    new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
  const bytes = g('tapo_camera_bytes_written', 'Bytes written by the current record job (heartbeat; restarts at 0 with a new job)');
  const closed = g('tapo_camera_segments_closed', 'Segments closed by the current record job (heartbeat)');
  const restarts = g('tapo_camera_ffmpeg_restarts', 'ffmpeg restarts within the current record job (heartbeat)');
  const fps = g('tapo_camera_fps', 'Frames per second ffmpeg reports');
  const sinceLast = g('tapo_camera_seconds_since_last_segment', 'Seconds since the newest segment closed');
  const heartbeatAge = g('tapo_camera_heartbeat_age_seconds', 'Seconds since the last heartbeat of the record job');
  const disk = g('tapo_camera_disk_bytes', 'Bytes of the camera\'s indexed segments');
  const segs = g('tapo_camera_segments', 'Number of the camera\'s indexed segments');
  const state = g('tapo_camera_state', 'Camera state (1 for the current state)', ['camera', 'state']);
  const up = g('tapo_camera_recording', '1 when the camera is recording');
  const jobs = g('tapo_queue_jobs', 'Jobs per queue and state', ['queue', 'state']);
  const byReason = g('tapo_camera_ffmpeg_restarts_by_reason', 'ffmpeg restarts within the current record job, by cause (auth, refused, timeout, stall, disk-full, ...)', ['camera', 'reason']);
  const stalls = g('tapo_camera_stalls', 'Times the watchdog found ffmpeg stalled in the current record job');
  const pruned = g('tapo_prune_deleted_segments_total', 'Segments deleted by prune jobs (all time)', []);
  const prunedBytes = g('tapo_prune_deleted_bytes_total', 'Bytes deleted by prune jobs (all time)', []);
  const repairs = g('tapo_repair_outcomes_total', 'Repair chain outcomes (all time)', ['outcome']);

  const liveLag = g('tapo_replica_live_lag_seconds', 'How far behind live the replica target\'s copy of the segment being recorded is', ['target', 'camera']);
  const liveUp = g('tapo_replica_live_up', '1 when the live copy to the target is going through', ['target', 'camera']);
  const liveBytes = g('tapo_replica_bytes_per_camera_hour', 'Bytes sent to the target per hour of the camera (live + whole segments)', ['target', 'camera']);
  const liveRequests = g('tapo_replica_requests_per_camera_hour', 'Requests to the target per hour of the camera (live + whole segments)', ['target', 'camera']);

  const boardGauge = g('tapo_board', "The board's guards and caches: connections refused by the caps, requests cut by the deadline, uploads cut for their rate, thumbnail cache entries, clients slowed for failed logins", ['what']);

  async function refresh(): Promise<void> {
    boardGauge.reset();
    for (const [what, n] of Object.entries(sources.board?.() ?? {})) boardGauge.set({ what }, n);
    const cams = await sources.cameras();
    for (const m of [bytes, closed, restarts, fps, sinceLast, heartbeatAge, disk, segs, state, up, jobs, byReason, stalls, pruned, prunedBytes, repairs]) m.reset();
    const counters = (await sources.counters?.()) ?? {};
    pruned.set(counters['prune:deleted'] ?? 0);
    prunedBytes.set(counters['prune:bytes'] ?? 0);
    for (const outcome of ['repaired', 'unrecoverable']) repairs.set({ outcome }, counters[`repair:${outcome}`] ?? 0);
    for (const c of cams) {
      const camera = c.id;
      const p = c.progress;
      if (p) {
        bytes.set({ camera }, p.bytes ?? 0);
        closed.set({ camera }, p.segmentsClosed ?? 0);
        restarts.set({ camera }, p.restarts ?? 0);
        stalls.set({ camera }, p.stalls ?? 0);
        for (const [reason, n] of Object.entries(p.restartsByReason ?? {})) byReason.set({ camera, reason }, n);
      }
      if (c.fps !== undefined) fps.set({ camera }, c.fps);
      if (c.lastSegmentAt) sinceLast.set({ camera }, Math.max(0, (Date.now() - Date.parse(c.lastSegmentAt)) / 1000));
      if (c.heartbeatAgeSeconds !== undefined) heartbeatAge.set({ camera }, c.heartbeatAgeSeconds);
      if (c.diskBytes !== undefined) disk.set({ camera }, c.diskBytes);
      if (c.segmentCount !== undefined) segs.set({ camera }, c.segmentCount);
      const known = (CAMERA_STATES as readonly string[]).includes(c.state) ? [...CAMERA_STATES] : [...CAMERA_STATES, c.state];
      for (const s of known) state.set({ camera, state: s }, s === c.state ? 1 : 0);
      up.set({ camera }, c.state === 'recording' ? 1 : 0);
    }
    for (const m of [liveLag, liveUp, liveBytes, liveRequests]) m.reset();
    for (const l of (await sources.liveReplicas?.().catch(() => [])) ?? []) {
      const lab = { target: l.target, camera: l.camera };
      liveLag.set(lab, l.lagSeconds);
      liveUp.set(lab, l.up ? 1 : 0);
      liveBytes.set(lab, l.bytesPerHour);
      liveRequests.set(lab, l.requestsPerHour);
    }
    for (const q of sources.queues) {
      const counts = await q.queue.getJobCounts(...JOB_STATES);
      for (const s of JOB_STATES) jobs.set({ queue: q.name, state: s }, counts[s] ?? 0);
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      await refresh();
      return registry.metrics();
    },
  };
}
