// Issue 14, the server side of live view with the real stack (no browser: the browser side is
// test/live-view.test.ts): GET /api/live/stream gives the init and fragments within a second; with
// nobody watching nothing is published (zero messages on the camera's Redis channel); ten viewers
// cost the worker what one does (same publish rate); the stream moves to the other worker when the
// recording one is killed -9.
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME, FrameReader, decodeRelay, liveChannel } from '@tapo/live-view';
import type { RecordProgress } from '@tapo/queues';
import { REDIS_URL, sleep, waitFor } from './helpers/env.js';
import type { AppProcess } from './helpers/processes.js';
import { TestStack } from './helpers/stack.js';

interface Viewer {
  frames: Array<{ kind: number; at: number; payload: Buffer }>;
  openedAt: number;
  close(): void;
}

async function openViewer(base: string, camera: string): Promise<Viewer> {
  const ac = new AbortController();
  const openedAt = Date.now();
  const res = await fetch(`${base}/api/live/stream?camera=${camera}`, { signal: ac.signal });
  expect(res.status).toBe(200);
  const v: Viewer = { frames: [], openedAt, close: () => ac.abort() };
  const reader = new FrameReader();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const f of reader.push(Buffer.from(chunk))) v.frames.push({ kind: f.kind, at: Date.now(), payload: f.payload });
      }
    } catch {
      /* aborted */
    }
  })();
  return v;
}

/** Counts the messages published on a channel (and, of them, fragments). */
async function countChannel(channel: string) {
  const sub = new Redis(REDIS_URL);
  let n = 0;
  let fragments = 0;
  await sub.subscribe(channel);
  sub.on('messageBuffer', (_c: Buffer, m: Buffer) => {
    n++;
    if (decodeRelay(m).msg.type === 'fragment') fragments++;
  });
  return { get: () => n, fragments: () => fragments, reset: () => void ((n = 0), (fragments = 0)), close: () => sub.quit() };
}

describe('live view stream', () => {
  const stack = new TestStack('live-stream');
  let base = '';
  let workers: AppProcess[] = [];

  beforeAll(async () => {
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', segmentSeconds: 6 }]);
    await stack.start('scheduler');
    workers = [await stack.start('worker'), await stack.start('worker')];
    await stack.start('board');
    base = `http://127.0.0.1:${stack.boardPort}`;
    await waitFor('cam1 recording', async () => (await stack.progress('cam1'))?.state === 'recording', 60_000, 200);
    await sleep(3000);
  }, 90_000);

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('nothing is published while nobody watches; a viewer gets init + fragments at once; ten cost the worker what one does', async () => {
    const ch = await countChannel(liveChannel(stack.prefix, 'cam1'));
    try {
      await sleep(5000);
      expect(ch.get(), 'messages on the live channel with nobody watching').toBe(0);

      const v = await openViewer(base, 'cam1');
      await waitFor('a fragment', () => v.frames.some((f) => f.kind === FRAME.fragment), 10_000, 20);
      const kinds = v.frames.map((f) => f.kind);
      expect(kinds.indexOf(FRAME.initHeader)).toBeLessThan(kinds.indexOf(FRAME.fragment));
      const header = JSON.parse(v.frames.find((f) => f.kind === FRAME.initHeader)!.payload.toString()) as { mimeType: string; configChanged: boolean };
      expect(header).toMatchObject({ configChanged: true });
      expect(header.mimeType).toMatch(/^video\/mp4; codecs="avc1\./);
      const firstFragmentMs = v.frames.find((f) => f.kind === FRAME.fragment)!.at - v.openedAt;
      console.log(`[measure] live stream: first fragment ${firstFragmentMs} ms after the request (cold: the worker starts publishing)`);
      await sleep(1000);
      ch.reset();
      await sleep(8000);
      const one = ch.fragments();
      const v2 = await openViewer(base, 'cam1');
      await waitFor('a fragment on the second viewer', () => v2.frames.some((f) => f.kind === FRAME.fragment), 5000, 10);
      const warmMs = v2.frames.find((f) => f.kind === FRAME.fragment)!.at - v2.openedAt;
      console.log(`[measure] live stream: first fragment ${warmMs} ms after the request (warm: the board has the camera)`);
      const more = await Promise.all(Array.from({ length: 8 }, () => openViewer(base, 'cam1')));
      await sleep(1000);
      ch.reset();
      await sleep(8000);
      const ten = ch.fragments();
      console.log(`[measure] live view: fragments published in 8 s with 1 viewer ${one}, with 10 viewers ${ten} (one Redis PUBLISH each, whatever the number of viewers)`);
      expect(one).toBeGreaterThan(8);
      expect(Math.abs(ten - one)).toBeLessThanOrEqual(3);
      for (const x of [v, v2, ...more]) expect(x.frames.filter((f) => f.kind === FRAME.fragment).length).toBeGreaterThan(5);
      for (const x of [v, v2, ...more]) x.close();
      // the worker stops within its lease (8 s) once nobody asks
      await sleep(11_000);
      ch.reset();
      await sleep(4000);
      expect(ch.get(), 'messages after every viewer left').toBe(0);
    } finally {
      await ch.close();
    }
  }, 90_000);

  it('the camera goes dark: "offline since" with the time of its last fragment; it resumes by itself', async () => {
    const v = await openViewer(base, 'cam1');
    try {
      await waitFor('fragments', () => v.frames.filter((f) => f.kind === FRAME.fragment).length >= 2, 10_000, 20);
      const frozenAt = Date.now();
      stack.camera.freeze();
      const status = () => v.frames.filter((f) => f.kind === FRAME.status).map((f) => ({ at: f.at, ...(JSON.parse(f.payload.toString()) as { state: string; since?: number; message: string }) }));
      await waitFor('offline', () => status().some((s) => s.state === 'offline' && s.at > frozenAt), 40_000, 100);
      const off = status().find((s) => s.state === 'offline' && s.at > frozenAt)!;
      console.log(`[measure] live view: "offline" ${((off.at - frozenAt) / 1000).toFixed(1)} s after the camera froze, since ${new Date(off.since!).toISOString()} (frozen at ${new Date(frozenAt).toISOString()})`);
      expect(Math.abs(off.since! - frozenAt)).toBeLessThan(3000);
      stack.camera.resume();
      const resumedAt = Date.now();
      await waitFor('live again', () => v.frames.some((f) => f.kind === FRAME.fragment && f.at > resumedAt + 500), 40_000, 100);
      console.log(`[measure] live view: fragments again ${((v.frames.find((f) => f.kind === FRAME.fragment && f.at > resumedAt + 500)!.at - resumedAt) / 1000).toFixed(1)} s after the camera came back`);
    } finally {
      v.close();
      stack.camera.resume();
    }
  }, 90_000);

  it('the stream needs the board login like every other request', async () => {
    const other = new TestStack('live-auth');
    try {
      other.writeConfig([]);
      await other.start('board', { BOARD_USER: 'owner', BOARD_PASSWORD: 'pw-0123456789' });
      const b = `http://127.0.0.1:${other.boardPort}`;
      await waitFor('board up', async () => (await fetch(`${b}/api/health`).catch(() => undefined)) !== undefined, 30_000);
      expect((await fetch(`${b}/api/live/stream?camera=cam1`)).status).toBe(401);
      expect((await fetch(`${b}/api/live/cam1/hls/index.m3u8`)).status).toBe(401);
      expect((await fetch(`${b}/live/cam1`)).status).toBe(401);
    } finally {
      await other.stopApps().catch(() => {});
      await other.cleanup();
    }
  }, 60_000);

  it('HLS for browsers without MSE: a playlist of GOP segments from the same fragments that ffmpeg plays', async () => {
    const t0 = Date.now();
    const r = await fetch(`${base}/api/live/cam1/hls/index.m3u8`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('mpegurl');
    const text = await r.text();
    console.log(`[measure] live HLS: first playlist ${Date.now() - t0} ms after the request (waits for two GOPs)`);
    expect(text).toMatch(/#EXT-X-MAP:URI="init-\d+\.mp4"/);
    expect(text).toMatch(/seg-\d+\.m4s/);
    const dec = await execa('ffmpeg', ['-v', 'error', '-i', `${base}/api/live/cam1/hls/index.m3u8`, '-t', '4', '-f', 'null', '-'], { reject: false, timeout: 60_000 });
    expect(dec.exitCode, dec.stderr).toBe(0);
    expect((await fetch(`${base}/api/live/cam1/hls/seg-999999.m4s`)).status).toBe(404);
    expect((await fetch(`${base}/api/live/nope/hls/index.m3u8`)).status).toBe(404);
  }, 60_000);

  it('the recording worker killed -9: the stream resumes from the worker that takes the camera over', async () => {
    const v = await openViewer(base, 'cam1');
    try {
      await waitFor('fragments', () => v.frames.filter((f) => f.kind === FRAME.fragment).length >= 2, 10_000, 20);
      const p = (await stack.progress('cam1')) as RecordProgress;
      const victim = workers.find((w) => w.pid === p.workerPid)!;
      const killedAt = Date.now();
      victim.child.kill('SIGKILL');
      const statuses = () => v.frames.filter((f) => f.kind === FRAME.status && f.at > killedAt).map((f) => JSON.parse(f.payload.toString()) as { state: string });
      await waitFor('a fragment from the new worker', () => v.frames.some((f) => f.kind === FRAME.fragment && f.at > killedAt + 2000) && v.frames.some((f) => f.kind === FRAME.initHeader && f.at > killedAt), 40_000, 50);
      const back = v.frames.find((f) => f.kind === FRAME.fragment && f.at > killedAt + 2000)!.at;
      console.log(`[measure] live view after kill -9 of the recording worker: fragments again ${((back - killedAt) / 1000).toFixed(1)} s later; statuses meanwhile: ${[...new Set(statuses().map((s) => s.state))].join(', ')}`);
      expect(statuses().some((s) => s.state === 'waiting' || s.state === 'offline')).toBe(true);
    } finally {
      v.close();
    }
  }, 60_000);
});
