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

  it('ENOSPC → emergency prune → recording continues', async () => {
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', segmentSeconds: 2 }], `minFreeDisk: 1500000\npruneEverySeconds: 3600`);
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
  }, 180_000);
});
