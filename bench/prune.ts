// Prune of 100 000 indexed segments, called directly (the same setup as the
// "100 000" case of test/retention.test.ts): index entries only, under the
// bench's own Redis prefix (the files do not exist: the executor just forgets
// them), all past maxAge; runPrune from @tapo/maintenance is timed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parseConfig } from '@tapo/config';
import { runPrune } from '@tapo/maintenance';
import { SegmentIndex, encodeInfo } from '@tapo/segment-index';
import { withCleanup } from './children.js';
import { deletePrefix } from './cost.js';
import { row, type Row } from './table.js';

export interface PruneRun {
  ms: number;
  /** Planned deletions (all past maxAge). */
  planned: number;
  /** Files unlinked (0 here: the files do not exist). */
  deleted: number;
  left: number;
  /** runPrune's own tookMs. */
  tookMs: number;
  setupMs: number;
}

export interface PruneResult {
  segments: number;
  runs: PruneRun[];
  rows: Row[];
}

async function once(redisUrl: string, segments: number, i: number): Promise<PruneRun> {
  const redis = new Redis(redisUrl);
  const prefix = `bench-prune-${process.pid}-${i}`;
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-prune-'));
  const cleanup = async () => {
    await deletePrefix(redis, prefix).catch(() => {});
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
  };
  return withCleanup(cleanup, async () => {
    const t0 = performance.now();
    const cam = 'bulk';
    const now = Date.now();
    const start0 = now - 2 * segments * 1000;
    const members: Array<string | number> = [];
    const infos: string[] = [];
    for (let k = 0; k < segments; k++) {
      const f = `${cam}/1970-01-01/${cam}-${k}.mp4`;
      members.push(start0 + k * 1000, f);
      infos.push(f, encodeInfo({ durationMs: 1000, bytes: 1000, status: 'ok', host: 't' }));
    }
    const p = redis.pipeline();
    for (let k = 0; k < members.length; k += 20_000) p.zadd(`${prefix}:seg:${cam}`, ...(members.slice(k, k + 20_000) as [number, string]));
    for (let k = 0; k < infos.length; k += 20_000) p.hset(`${prefix}:seginfo:${cam}`, ...infos.slice(k, k + 20_000));
    p.hset(`${prefix}:segstats`, `${cam}:bytes`, segments * 1000, `${cam}:count`, segments);
    p.sadd(`${prefix}:seg-cameras`, cam);
    await p.exec();
    const index = new SegmentIndex(redis, prefix);
    if ((await index.stats(cam)).count !== segments) throw new Error('prune bench: the index was not built');
    const config = parseConfig(`recordingsDir: ${root}\nretention: { maxAge: 1h }\nminFreeDisk: 0\ncameras: []\n`, path.join(root, 'cameras.yml'), {});
    const setupMs = performance.now() - t0;
    const t = performance.now();
    const res = await runPrune({ config, index, now });
    const ms = performance.now() - t;
    const left = (await index.stats(cam)).count;
    const planned = Object.values(res.byReason).reduce((a, b) => a + b, 0);
    if (left !== segments - planned) throw new Error(`prune bench: ${planned} planned but ${segments - left} left the index`);
    return { ms, planned, deleted: res.deleted, left, tookMs: res.tookMs, setupMs };
  });
}

export async function measurePrune(redisUrl: string, runs: number, segments = 100_000): Promise<PruneResult> {
  const out: PruneRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(redisUrl, segments, i);
    process.stderr.write(`prune run ${i + 1}/${runs}: ${r.planned} pruned in ${r.ms.toFixed(0)} ms\n`);
    out.push(r);
  }
  const planned = [...new Set(out.map((r) => r.planned))].join('/');
  return {
    segments,
    runs: out,
    rows: [
      row(`prune ${segments.toLocaleString('en-US').replace(/,/g, ' ')} indexed segments`, out.map((r) => r.ms / 1000), {
        target: '< 2 s',
        limit: { max: 2 },
        unit: 's',
        how: `runPrune (@tapo/maintenance) on an index of ${segments} entries all past maxAge (bench/prune.ts, as test/retention.test.ts "100 000"): index read + plan + ${planned} deletions (files absent: forgotten) + index update`,
      }),
    ],
  };
}
