// Issue #2, tests 2 and 4: the whole recording path on real parts: simulated
// camera with Digest auth, real Redis, scheduler + worker + board as processes.
import { statSync } from 'node:fs';
import path from 'node:path';
import pidusage from 'pidusage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSegmentFiles, parseSegmentFileName, type SegmentFile } from '@tapo/storage';
import type { RecordProgress } from '@tapo/queues';
import { dumpPrefix, sleep, waitFor } from './helpers/env.js';
import { ffprobe } from './helpers/ffprobe.js';
import { TestStack } from './helpers/stack.js';

const RECORD_SECONDS = 30;
const SEGMENT_SECONDS = 5;
const FPS = 15;

describe('recording through BullMQ (scheduler + worker + board, simulated Tapo camera)', () => {
  const stack = new TestStack('recording');
  const heartbeats: RecordProgress[] = [];
  let segments: SegmentFile[] = [];
  let jobLogs: string[] = [];
  let recordingStartedAt = 0;
  let cpu: number[] = [];
  let boardQueues: { status: number; body: string } | undefined;
  let boardCameras: { status: number; body: string } | undefined;
  let boardApi: { status: number; body: string } | undefined;

  beforeAll(async () => {
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', segmentSeconds: SEGMENT_SECONDS }]);
    await stack.start('scheduler');
    const worker = await stack.start('worker');
    await stack.start('board');
    await waitFor('first heartbeat with state recording', async () => (await stack.progress('cam1'))?.state === 'recording', 40_000);
    recordingStartedAt = Date.now();
    const deadline = recordingStartedAt + RECORD_SECONDS * 1000;
    while (Date.now() < deadline) {
      const p = await stack.progress('cam1');
      if (p) heartbeats.push(p);
      if (p?.ffmpegPid) {
        try {
          cpu.push((await pidusage(p.ffmpegPid)).cpu);
        } catch {
          /* between runs */
        }
      }
      await sleep(2000);
    }
    const base = `http://127.0.0.1:${stack.boardPort}`;
    const get = async (u: string) => {
      const r = await fetch(base + u);
      return { status: r.status, body: await r.text() };
    };
    boardQueues = await get('/queues');
    boardCameras = await get('/api/cameras');
    boardApi = await get('/queues/api/queues?activeQueue=record&status=active&page=1&jobsPerPage=10');
    // Graceful stop: the worker tells ffmpeg to quit, so the last segment is finalised.
    const exit = await worker.stop('SIGTERM');
    expect(exit.code).toBe(0);
    jobLogs = await stack.jobLogs('cam1');
    segments = await listSegmentFiles(stack.recordingsDir, 'cam1');
    pidusage.clear();
  }, 150_000);

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('writes segments under <recordingsDir>/<camera>/<YYYY-MM-DD>/<camera>-<YYYYMMDD>T<HHMMSS>Z.mp4 (UTC)', () => {
    expect(segments.length).toBeGreaterThanOrEqual(Math.floor(RECORD_SECONDS / SEGMENT_SECONDS) - 1);
    for (const s of segments) {
      const rel = path.relative(stack.recordingsDir, s.path);
      expect(rel).toMatch(/^cam1\/\d{4}-\d{2}-\d{2}\/cam1-\d{8}T\d{6}Z\.mp4$/);
      const parsed = parseSegmentFileName(path.basename(s.path))!;
      expect(rel.split('/')[1]).toBe(parsed.start.toISOString().slice(0, 10));
      // Named by the UTC start: within a few seconds of when the file was last written minus its length.
      expect(Math.abs(parsed.start.getTime() - (s.mtimeMs - SEGMENT_SECONDS * 1000))).toBeLessThan(SEGMENT_SECONDS * 1000 + 5000);
    }
  });

  it('every segment plays: one h264 and one aac stream', async () => {
    for (const s of segments) {
      const probe = await ffprobe(s.path);
      expect(probe.ok, `${s.path}: ${probe.error}`).toBe(true);
      const kinds = probe.streams.map((st) => `${st.codec_type}:${st.codec_name}`).sort();
      expect(kinds, s.path).toEqual(['audio:aac', 'video:h264']);
      expect(probe.durationSeconds).toBeGreaterThan(0);
    }
  });

  it('durations add up to the time recorded, and consecutive segments leave no gap', async () => {
    const durations: number[] = [];
    for (const s of segments) durations.push((await ffprobe(s.path)).videoSeconds);
    // Wall clock: a segment's file is last written when it closes (when the
    // next segment's first keyframe arrives), so mtime(k) - mtime(1) is the time
    // recorded by segments 2..k. The last segment, closed by the worker's stop
    // ("q"), is left out of this sum: it ends at the stop, not at a keyframe.
    const k = segments.length - 2;
    const wall = (segments[k]!.mtimeMs - segments[0]!.mtimeMs) / 1000;
    const sum = durations.slice(1, k + 1).reduce((a, b) => a + b, 0);
    console.log(`[measure] ${segments.length} segments; sum of video durations of segments 2..${k + 1}: ${sum.toFixed(3)} s vs wall clock ${wall.toFixed(3)} s: difference ${(sum - wall).toFixed(3)} s`);
    expect(Math.abs(sum - wall)).toBeLessThan(1);

    // The segment muxer's list gives each segment's start/end on the camera's timeline.
    const closed = jobLogs
      .map((l) => /segment closed: (\S+) start=([\d.]+) end=([\d.]+) duration=([\d.]+)s/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ file: m[1]!, start: Number(m[2]), end: Number(m[3]) }));
    expect(closed.length).toBe(segments.length);
    let maxGap = 0;
    for (let i = 1; i < closed.length; i++) {
      const gap = closed[i]!.start - closed[i - 1]!.end;
      maxGap = Math.max(maxGap, Math.abs(gap));
    }
    console.log(`[measure] largest gap between consecutive segments: ${(maxGap * 1000).toFixed(1)} ms (one frame = ${(1000 / FPS).toFixed(1)} ms)`);
    expect(maxGap).toBeLessThanOrEqual(1 / FPS + 1e-6);
    // And each file holds what the list says (within one frame).
    for (let i = 0; i < closed.length; i++) {
      const listed = closed[i]!.end - closed[i]!.start;
      expect(Math.abs(durations[i]! - listed), closed[i]!.file).toBeLessThanOrEqual(1 / FPS + 0.05);
    }
  });

  it('the job progress carries the heartbeat fields and keeps updating', () => {
    expect(heartbeats.length).toBeGreaterThanOrEqual(10);
    const last = heartbeats.at(-1)!;
    expect(last).toMatchObject({ state: 'recording', cameraId: 'cam1' });
    for (const k of ['outTimeSeconds', 'frames', 'fps', 'speed', 'bytes', 'segment', 'lastProgressAt', 'updatedAt', 'host', 'ffmpegPid'] as const) {
      expect(last[k], k).toBeDefined();
    }
    expect(last.segment).toMatch(/^cam1\/\d{4}-\d{2}-\d{2}\/cam1-\d{8}T\d{6}Z\.mp4$/);
    const updates = new Set(heartbeats.map((h) => h.updatedAt));
    expect(updates.size).toBeGreaterThanOrEqual(5); // a heartbeat every 5 s over 30 s
    expect(last.outTimeSeconds).toBeGreaterThan(heartbeats[0]!.outTimeSeconds);
    expect(last.frames).toBeGreaterThan(heartbeats[0]!.frames);
    expect(last.bytes).toBeGreaterThan(heartbeats[0]!.bytes);
    expect(Math.abs(last.fps - FPS)).toBeLessThan(3);
    const avgCpu = cpu.reduce((a, b) => a + b, 0) / Math.max(1, cpu.length);
    console.log(`[measure] ffmpeg CPU for one 720p15 recording: ${avgCpu.toFixed(1)} % of one core (mean of ${cpu.length} samples)`);
  });

  it('no credential appears in Redis, our logs or the job logs', async () => {
    const secrets = [stack.password, `${stack.user}:${stack.password}`];
    const redisDump = await dumpPrefix(stack.redis, stack.prefix);
    expect(redisDump.length).toBeGreaterThan(100);
    expect(redisDump).toContain('cam1');
    const logs = stack.output();
    expect(logs).toContain('cam1');
    for (const s of secrets) {
      expect(redisDump.includes(s), 'password found in Redis').toBe(false);
      expect(logs.includes(s), 'password found in process output').toBe(false);
      expect(jobLogs.join('\n').includes(s), 'password found in job logs').toBe(false);
      expect(boardApi!.body.includes(s)).toBe(false);
      expect(boardCameras!.body.includes(s)).toBe(false);
    }
    expect(redisDump).not.toContain('rtsp://');
  });

  it('board: GET /queues answers 200 and the API lists the record job', () => {
    expect(boardQueues!.status).toBe(200);
    expect(boardQueues!.body).toContain('<');
    expect(boardCameras!.status).toBe(200);
    const cams = JSON.parse(boardCameras!.body) as { cameras: Array<{ id: string; jobId: string; state: string; jobState: string }> };
    expect(cams.cameras).toEqual([expect.objectContaining({ id: 'cam1', jobId: 'record-cam1', jobState: 'active', state: 'recording' })]);
    expect(boardApi!.status).toBe(200);
    expect(boardApi!.body).toContain('record-cam1');
  });

  it('the worker stopped cleanly: the last segment is a normal file and the job went back to the queue', async () => {
    const lastFile = segments.at(-1)!;
    const probe = await ffprobe(lastFile.path);
    expect(probe.ok).toBe(true);
    const state = await (await stack.queue.getJob('record-cam1'))!.getState();
    expect(state).toBe('waiting');
    expect(statSync(lastFile.path).size).toBeGreaterThan(1000);
  });
});
