// Issue #4: disk full (ENOSPC) while recording: an emergency prune runs at
// once and recording continues. Recordings on a small tmpfs (needs root to
// mount; skipped with a message otherwise).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listSegmentFiles } from '@tapo/storage';
import { tempDir, waitFor } from './helpers/env.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { TestStack } from './helpers/stack.js';

function tryMount(dir: string, sizeMb: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tmp = tempDir('diskfull');
const mnt = path.join(tmp.dir, 'small-disk');
mkdirSync(mnt, { recursive: true });
const mounted = tryMount(mnt, 6);
if (!mounted) console.log('[skip] disk-full test: cannot mount a tmpfs here (needs root)');

describe.skipIf(!mounted)('disk full while recording', () => {
  const stack = new TestStack('diskfull');

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {
      /* already */
    }
    tmp.cleanup();
  });

  it('ENOSPC → emergency prune → recording continues, and the owner is told', async () => {
    const rx = await startHttpReceiver();
    await stack.startCamera();
    stack.writeConfig(
      [{ id: 'cam1', segmentSeconds: 2 }],
      `minFreeDisk: 1500000\npruneEverySeconds: 3600\nalerts:\n  targets:\n    - { id: hook, type: webhook, url: "${rx.url}/hook", events: [emergency-prune, disk-nearly-full] }`,
    );
    // Point recordings at the small disk.
    stack.rewriteConfig(stack.configFileContent().replace(/^recordingsDir: .*$/m, `recordingsDir: ${mnt}`));
    await stack.start('scheduler');
    const worker = await stack.start('worker');
    await worker.waitForOutput(/emergency prune \(disk full while recording cam1\): deleted [1-9]\d* segment/, 120_000);
    const prunedAt = Date.now();
    await waitFor('recording again after the prune', async () => {
      const p = await stack.progress('cam1');
      return p?.state === 'recording' && Date.parse(p.lastProgressAt ?? '') > prunedAt;
    }, 30_000, 250);
    await waitFor('new segments after the prune', async () => (await listSegmentFiles(mnt, 'cam1')).filter((s) => s.start.getTime() > prunedAt - 1000).length >= 2, 30_000, 500);
    const s = await statfs(mnt);
    console.log(`[measure] disk full: emergency prune, recording again; free now ${((s.bavail * s.bsize) / 1e6).toFixed(1)} MB of 6 MB`);
    expect(worker.output()).toMatch(/disk full while writing segments/);
    // One "emergency prune" alert (throttled: one per minIntervalSeconds however often the disk fills).
    const alerts = await waitFor('the emergency-prune alert', () => {
      const got = rx.requests.map((r) => JSON.parse(r.body) as { type: string; message: string });
      return got.some((a) => a.type === 'emergency-prune') ? got : undefined;
    }, 20_000, 200);
    console.log(`[measure] disk full: alerts sent: ${alerts.map((a) => `${a.type} (${a.message})`).join('; ')}`);
    expect(alerts.filter((a) => a.type === 'emergency-prune')).toHaveLength(1);
    await rx.close();
  }, 180_000);
});
