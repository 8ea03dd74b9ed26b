// Issue #2, test 3: kill -9 of ffmpeg mid-segment. The truncated segment
// (fragmented MP4) still plays up to within about a second of the kill, and
// recording continues in a new segment.
import path from 'node:path';
import { Queue } from 'bullmq';
import { decodesCleanly } from '@tapo/maintenance';
import { SegmentIndex } from '@tapo/segment-index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSegmentFiles, type SegmentFile } from '@tapo/storage';
import { sleep, waitFor } from './helpers/env.js';
import { countVideoFrames, ffprobe } from './helpers/ffprobe.js';
import { TestStack } from './helpers/stack.js';

const FPS = 15;

describe('kill -9 of ffmpeg mid-segment', () => {
  const stack = new TestStack('kill9');
  let killedFile = '';
  let killedAt = 0;
  let previousClosedAt = 0;
  let oldPid = 0;
  let restartMs = 0;
  let after: SegmentFile[] = [];
  let logs: string[] = [];

  beforeAll(async () => {
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', segmentSeconds: 10 }]);
    await stack.start('scheduler');
    await stack.start('worker');
    // Wait for the first segment to close, then kill ~5 s into the second one.
    const p = await waitFor('a closed segment', async () => {
      const pr = await stack.progress('cam1');
      return pr?.lastSegment && pr.segment && pr.segment !== pr.lastSegment.file ? pr : undefined;
    }, 60_000, 200);
    const segs = await listSegmentFiles(stack.recordingsDir, 'cam1');
    const prev = segs.find((s) => path.relative(stack.recordingsDir, s.path) === p.lastSegment!.file)!;
    previousClosedAt = prev.mtimeMs;
    await sleep(Math.max(0, previousClosedAt + 5000 - Date.now()));
    const current = (await stack.progress('cam1'))!;
    killedFile = path.join(stack.recordingsDir, current.segment!);
    oldPid = current.ffmpegPid!;
    killedAt = Date.now();
    process.kill(oldPid, 'SIGKILL');
    const back = await waitFor('recording again with a new ffmpeg', async () => {
      const pr = await stack.progress('cam1');
      return pr && pr.state === 'recording' && pr.ffmpegPid !== oldPid && pr.restarts >= 1 && pr.segment && path.join(stack.recordingsDir, pr.segment) !== killedFile ? pr : undefined;
    }, 60_000, 100);
    restartMs = Date.now() - killedAt;
    expect(back.lastStall).toBeUndefined();
    await sleep(3000);
    after = await listSegmentFiles(stack.recordingsDir, 'cam1');
    logs = await stack.jobLogs('cam1');
  }, 150_000);

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('the truncated segment plays up to within 1 s of the kill', async () => {
    const probe = await ffprobe(killedFile);
    expect(probe.ok, probe.error).toBe(true);
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const frames = await countVideoFrames(killedFile);
    const playable = frames / FPS;
    const recordedBeforeKill = (killedAt - previousClosedAt) / 1000;
    const lost = recordedBeforeKill - playable;
    console.log(`[measure] kill -9 ${(recordedBeforeKill).toFixed(2)} s into a segment: ${frames} frames (${playable.toFixed(2)} s) playable, ${lost.toFixed(2)} s lost`);
    expect(frames).toBeGreaterThan(0);
    expect(lost).toBeLessThanOrEqual(1.0);
  });

  it('recording continues in a new segment, and the interrupted one is reported', async () => {
    console.log(`[measure] ffmpeg restarted and recording again ${(restartMs / 1000).toFixed(2)} s after kill -9`);
    const newer = after.filter((s) => s.start.getTime() > (after.find((x) => x.path === killedFile)?.start.getTime() ?? 0));
    expect(newer.length).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.includes(`segment interrupted: ${path.relative(stack.recordingsDir, killedFile)}`))).toBe(true);
    expect(logs.some((l) => /state: reconnecting/.test(l))).toBe(true);
    // The old ffmpeg is gone and exactly one ffmpeg records this camera.
    expect(() => process.kill(oldPid, 0)).toThrow();
    // The interrupted segment got a verify job (repair queue), naming the host that wrote it.
    const repair = new Queue('repair', { connection: stack.redis, prefix: stack.prefix });
    const jobs = (await repair.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter((j) => j.name === 'verify');
    expect(jobs.map((j) => j.data)).toEqual([
      expect.objectContaining({ cameraId: 'cam1', file: path.relative(stack.recordingsDir, killedFile), host: expect.any(String) }),
    ]);
    await repair.close();
    // The repair chain trims its cut last fragment: the file ends up decoding cleanly, indexed as repaired.
    const index = new SegmentIndex(stack.redis, stack.prefix);
    const rel = path.relative(stack.recordingsDir, killedFile);
    const rec = await waitFor('the interrupted segment verified', async () => {
      const r = await index.get('cam1', rel);
      return r && (r.status === 'repaired' || r.status === 'ok') ? r : undefined;
    }, 30_000, 250);
    expect((await decodesCleanly(killedFile)).ok).toBe(true);
    console.log(`[measure] interrupted segment after the repair chain: ${rec.status}, ${rec.bytes} bytes`);
  });
});
