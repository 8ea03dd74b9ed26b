// Issue #5: `recorder export <camera> --from --to --out file` (progress bar) against a live recording.
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { SegmentIndex } from '@tapo/segment-index';
import { ROOT, waitFor } from './helpers/env.js';
import { ffprobe } from './helpers/ffprobe.js';
import { TestStack } from './helpers/stack.js';

describe('recorder export', () => {
  const stack = new TestStack('cliexport');
  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('exports a time range to one playable file, with progress, and names an empty range', async () => {
    await stack.startRecording([{ id: 'cam1', segmentSeconds: 4 }]);
    const index = new SegmentIndex(stack.redis, stack.prefix);
    await waitFor('three indexed segments', async () => (await index.stats('cam1')).count >= 3, 60_000, 500);
    const out = path.join(stack.dir, 'export.mp4');
    const env = { ...process.env, ...stack.env() };
    const bin = path.join(ROOT, 'node_modules', '.bin', 'recorder');
    const r = await execa(bin, ['export', 'cam1', '--from', '-5m', '--to', new Date().toISOString(), '--out', out], { env, reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/exported [3-9] segment\(s\)/);
    expect(r.stderr).toMatch(/100%/);
    const probe = await ffprobe(out);
    expect(probe.ok).toBe(true);
    expect(probe.videoSeconds).toBeGreaterThan(8);
    const none = await execa(bin, ['export', 'cam1', '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-01T01:00:00Z', '--out', out], { env, reject: false });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/export failed: no recording of cam1/);
  }, 120_000);
});
