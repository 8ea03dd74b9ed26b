// Issue #7, replication: two installations on loopback (separate prefixes,
// folders, ports). House A records the simulated camera and replicates every
// closed segment to office B (HTTP, B's board receives with a token) and to a
// "USB disk" folder. Segments appear on both within seconds of closing; B down
// for 30 s, then back: the backlog drains newest first, nothing duplicated;
// a wrong token gets 401 and nothing is written; an upload path cannot escape
// B's recordings folder.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentIndex } from '@tapo/segment-index';
import { listSegmentFiles, type SegmentFile } from '@tapo/storage';
import { sleep, waitFor } from './helpers/env.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { TestStack } from './helpers/stack.js';

const TOKEN = 'house-a-token-0123456789abcdef';

/** Segment files (not temp files) under a folder laid out <camera>/<day>/<file>. */
function filesUnder(root: string, camera: string): Array<{ name: string; mtimeMs: number; size: number }> {
  const out: Array<{ name: string; mtimeMs: number; size: number }> = [];
  const camDir = path.join(root, camera);
  if (!existsSync(camDir)) return out;
  for (const day of readdirSync(camDir)) {
    const d = path.join(camDir, day);
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d)) {
      const st = statSync(path.join(d, f));
      out.push({ name: f, mtimeMs: st.mtimeMs, size: st.size });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

describe('replication between two installations', () => {
  const a = new TestStack('repl-house');
  const b = new TestStack('repl-office');
  const usb = path.join(a.dir, 'usb-disk');
  const bCamera = 'house-cam1'; // B stores A's cam1 under its cameraPrefix
  const closedAt = new Map<string, number>();
  let closedWatcher: NodeJS.Timeout | undefined;
  let aSegments: SegmentFile[] = [];
  let rx: Awaited<ReturnType<typeof startHttpReceiver>>;

  beforeAll(async () => {
    rx = await startHttpReceiver();
    mkdirSync(usb, { recursive: true });
    b.writeConfig([], `receive:\n  tokens:\n    - { id: house-a, token: ${TOKEN}, cameraPrefix: "house-" }`);
    await b.start('board');
    await waitFor('office board up', async () => (await fetch(`http://127.0.0.1:${b.boardPort}/api/health`).catch(() => undefined))?.ok, 30_000);
    await a.startCamera();
    a.writeConfig(
      [{ id: 'cam1', segmentSeconds: 4 }],
      `replicas:
  - { id: office, type: http, url: "http://127.0.0.1:${b.boardPort}", token: ${TOKEN}, alertAfter: 10s }
  - { id: usb, type: directory, path: ${usb}, retention: { maxAge: 1d } }
alerts:
  targets:
    - { id: hook, type: webhook, url: "${rx.url}/hook", events: [replica-unreachable, replica-back] }`,
    );
    await a.start('scheduler');
    await a.start('worker');
    await a.start('board');
    // When each segment of A closed (first seen with its final size: the next one exists).
    closedWatcher = setInterval(() => {
      void listSegmentFiles(a.recordingsDir, 'cam1').then((segs) => {
        aSegments = segs;
        for (const s of segs.slice(0, -1)) if (!closedAt.has(path.basename(s.path))) closedAt.set(path.basename(s.path), Date.now());
      });
    }, 200);
  }, 90_000);

  afterAll(async () => {
    clearInterval(closedWatcher);
    await rx.close();
    for (const s of [a, b]) {
      await s.stopApps().catch(() => {});
      await s.cleanup();
    }
  });

  it('every closed segment reaches the office (HTTP) and the USB folder within seconds, indexed there', async () => {
    await waitFor('3 closed segments on A', () => closedAt.size >= 3, 60_000, 200);
    const first3 = [...closedAt.keys()].sort().slice(0, 3);
    await waitFor('them on B and on the USB folder', () => {
      const onB = new Set(filesUnder(b.recordingsDir, bCamera).map((f) => f.name));
      const onUsb = new Set(filesUnder(usb, 'cam1').map((f) => f.name));
      return first3.every((n) => onB.has(n.replace(/^cam1-/, `${bCamera}-`)) && onUsb.has(n));
    }, 30_000, 100);
    const lag: number[] = [];
    for (const n of first3) {
      const onB = filesUnder(b.recordingsDir, bCamera).find((f) => f.name === n.replace(/^cam1-/, `${bCamera}-`))!;
      // Closed = the last write of the source file (its mtime); arrived = the last write on B.
      const src = aSegments.find((s) => path.basename(s.path) === n)!;
      lag.push((onB.mtimeMs - statSync(src.path).mtimeMs) / 1000);
      // Same bytes on both sides.
      expect(onB.size).toBe(statSync(src.path).size);
      expect(filesUnder(usb, 'cam1').find((f) => f.name === n)!.size).toBe(statSync(src.path).size);
    }
    console.log(`[measure] replication: segment on the office install ${lag.map((l) => l.toFixed(1)).join(', ')} s after it closed`);
    expect(Math.max(...lag)).toBeLessThan(15);
    const bIndex = new SegmentIndex(b.redis, b.prefix);
    expect((await bIndex.stats(bCamera)).count).toBeGreaterThanOrEqual(3);
    // A's board shows both replicas working.
    const status = (await (await fetch(`http://127.0.0.1:${a.boardPort}/api/replicas`)).json()) as { replicas: Array<{ id: string; lastSuccessMs?: number; failed: number }> };
    expect(status.replicas.map((r) => r.id).sort()).toEqual(['office', 'usb']);
    for (const r of status.replicas) {
      expect(r.lastSuccessMs, r.id).toBeGreaterThan(0);
      expect(r.failed).toBe(0);
    }
    const page = await (await fetch(`http://127.0.0.1:${a.boardPort}/`)).text();
    expect(page).toContain('Off-site copies');
    expect(page).not.toContain(TOKEN);
  }, 90_000);

  it('office down for 30 s: recording goes on, then the backlog drains newest first, nothing duplicated', async () => {
    const board = b.apps.find((x) => x.name === 'board')!;
    await board.stop('SIGTERM');
    b.apps = b.apps.filter((x) => x !== board);
    const downAt = Date.now();
    await sleep(30_000);
    const backlog = [...closedAt.entries()].filter(([, t]) => t > downAt + 1000).map(([n]) => n).sort();
    expect(backlog.length).toBeGreaterThanOrEqual(5);
    // The USB folder kept up meanwhile.
    const onUsb = new Set(filesUnder(usb, 'cam1').map((f) => f.name));
    expect(backlog.slice(0, -1).every((n) => onUsb.has(n))).toBe(true);

    const upAt = Date.now();
    await b.start('board');
    const want = backlog.map((n) => n.replace(/^cam1-/, `${bCamera}-`));
    // Whole copies (A's size): the segment that was live when B went down is on B as a shorter live
    // copy first (B stores its leftover .live file when it starts), then replaced by the whole one.
    const sizeOnA = new Map(backlog.map((n) => [n.replace(/^cam1-/, `${bCamera}-`), statSync(aSegments.find((x) => path.basename(x.path) === n)!.path).size]));
    await waitFor('the backlog on B, whole', () => {
      const have = new Map(filesUnder(b.recordingsDir, bCamera).map((f) => [f.name, f.size]));
      return want.every((n) => have.get(n) === sizeOnA.get(n));
    }, 90_000, 200);
    const drained = (Date.now() - upAt) / 1000;
    const onB = filesUnder(b.recordingsDir, bCamera);
    const arrivals = onB.filter((f) => want.includes(f.name)).sort((x, y) => x.mtimeMs - y.mtimeMs).map((f) => f.name);
    console.log(`[measure] replication: office back after 30 s down: ${want.length} queued segments all there ${drained.toFixed(1)} s later; arrival order (newest = ${want.at(-1)}): ${arrivals.map((n) => want.indexOf(n)).join(' ')}`);
    // Newest first: the newest backlog segment is among the first two to arrive (two uploads run at once),
    // and the oldest among the last two.
    expect(arrivals.slice(0, 2)).toContain(want.at(-1));
    expect(arrivals.slice(-2)).toContain(want[0]);
    // Nothing duplicated, no temp files left, every file indexed once.
    // (An upload still being checked has its dot-temp file: live segments keep arriving; it must be gone soon.)
    await waitFor('no temp files on B', () => filesUnder(b.recordingsDir, bCamera).every((f) => !f.name.startsWith('.')), 10_000, 100);
    expect(new Set(onB.map((f) => f.name)).size).toBe(onB.length);
    // Every file on B is indexed there (a newer upload may be between its rename and its index entry: wait a moment).
    const bIndex = new SegmentIndex(b.redis, b.prefix);
    await waitFor('B index = B files', async () => (await bIndex.stats(bCamera)).count === filesUnder(b.recordingsDir, bCamera).length, 10_000, 100);
    // The owner heard about it once each way (alertAfter 10 s < 30 s down).
    const alerts = await waitFor('replica alerts', () => {
      const got = rx.requests.map((r) => JSON.parse(r.body) as { type: string; replicaId: string; message: string });
      return got.some((x) => x.type === 'replica-back') ? got : undefined;
    }, 20_000, 200);
    console.log(`[measure] replication alerts: ${alerts.map((x) => `${x.type} (${x.message})`).join('; ')}`);
    expect(alerts.map((x) => `${x.type}:${x.replicaId}`)).toEqual(['replica-unreachable:office', 'replica-back:office']);
    // "back" says how long it was unreachable (down at the first failed upload, ~30 s before it came back).
    const backDetails = (JSON.parse(rx.requests.at(-1)!.body) as { details: { downForSeconds: number } }).details;
    expect(backDetails.downForSeconds).toBeGreaterThanOrEqual(20);
    expect(JSON.stringify(alerts)).not.toContain(TOKEN);
    // No replicate job failed.
    const failed = await a.redis.zcard(`${a.prefix}:replicate-office:failed`);
    expect(failed).toBe(0);
  }, 180_000);

  it('a wrong token is refused with 401 and nothing is written; a path cannot escape B\'s recordings', async () => {
    const base = `http://127.0.0.1:${b.boardPort}/api/replica/segments`;
    const body = Buffer.from('not even an mp4');
    const before = readdirSync(b.recordingsDir, { recursive: true }).length;
    const wrong = await fetch(`${base}/cam9/cam9-20260101T000000Z.mp4`, {
      method: 'PUT',
      headers: { authorization: 'Bearer wrong-token-0123456789abcdef', 'content-length': String(body.length), 'x-content-sha256': '0'.repeat(64) },
      body,
    });
    expect(wrong.status).toBe(401);
    for (const p of ['..%2f..%2fescape/cam1-20260101T000000Z.mp4', 'cam1/..%2f..%2f..%2fescape.mp4', '%2e%2e/cam1-20260101T000000Z.mp4']) {
      const r = await fetch(`${base}/${p}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(body.length), 'x-content-sha256': '0'.repeat(64) },
        body,
      });
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.status, p).toBeLessThan(500);
    }
    expect(readdirSync(b.recordingsDir, { recursive: true }).length).toBe(before);
    expect(existsSync(path.join(b.dir, 'escape'))).toBe(false);
    expect(existsSync(path.join(b.dir, 'escape.mp4'))).toBe(false);
  }, 30_000);
});
