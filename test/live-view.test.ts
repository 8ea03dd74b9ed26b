// Issue 14, the browser side: the live view pages (/live/<camera>, /live) in
// Chromium (playwright-core).
//  - Against a fake board (a node http server serving renderLivePage and a
//    stream made of a fragmented MP4 split at its top-level boxes, paced in real
//    time): the player logic (plays, unmute, offline notice with the last frame
//    kept, resume, codec change, gap, reconnect, catch-up after a blocked page,
//    no MSE at all, two cameras on one connection).
//  - Against the real stack (simulated camera, scheduler, worker, board):
//    first frame time, unmute, screenshots and boxes at 390×844 and 1280×900,
//    three pages watching while the camera's RTSP server sees one client, the
//    live edge after 10 s, the /live grid.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLivePage } from '../libs/board/src/live-page.js';
import { ROOT, sleep, tempDir, waitFor } from './helpers/env.js';
import { TestStack } from './helpers/stack.js';

// The page's globals as the page.evaluate callbacks below use them (the tests compile without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any, window: any, getComputedStyle: any, SourceBuffer: any, DOMException: any;
type VideoEl = { currentTime: number; readyState: number };

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`[skip] live view test: ${CHROMIUM} not installed (bash scripts/install-deps.sh --dev)`);

const launch = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });

/** What the page's window.liveView.stats() returns per camera. */
interface PlayerStats {
  id: string;
  mode: 'mse' | 'hls' | 'none';
  src: string | undefined;
  stalls: number;
  minLag: number | undefined;
  state: string;
  overlay: string;
  currentTime: number;
  readyState: number;
  paused: boolean;
  muted: boolean;
  playbackRate: number;
  lag: number | undefined;
  newestFragmentAgeMs: number | undefined;
  videoWidth: number;
  videoHeight: number;
  mime: string | null;
  fragments: number;
  inits: number;
  initsSkipped: number;
  typeChanges: number;
  jumps: number;
  rebuilds: number;
  quotaTrims: number;
  gaps: number;
  buffered: number[];
  timing: Record<string, number | undefined>;
  events: string[];
}

const stats = (page: Page) => page.evaluate(() => (window as unknown as { liveView: { stats(): unknown } }).liveView.stats()) as Promise<PlayerStats[]>;
const cam = async (page: Page, i = 0) => (await stats(page))[i]!;

/** ms after the navigation started at which the i-th video plays (currentTime > 0, readyState >= 3). */
async function firstFrameMs(page: Page, url: string, i = 0): Promise<number> {
  await page.goto(url, { waitUntil: 'commit' });
  const h = await page.waitForFunction(
    (n) => {
      const v = document.querySelectorAll('video')[n] as VideoEl | undefined;
      return v && v.currentTime > 0 && v.readyState >= 3 ? performance.now() : false;
    },
    i,
    { polling: 25, timeout: 20_000 },
  );
  return Math.round((await h.jsonValue()) as number);
}

/** Two pictures of the video, drawn through a canvas, differ (frames change). */
async function framesChange(page: Page, i = 0): Promise<boolean> {
  const sample = () =>
    page.evaluate((n) => {
      const v = document.querySelectorAll('video')[n] as unknown;
      const c = document.createElement('canvas');
      c.width = 160;
      c.height = 90;
      const g = c.getContext('2d')!;
      g.drawImage(v, 0, 0, c.width, c.height);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let h = 0;
      for (let k = 0; k < d.length; k += 4) h = (h * 31 + d[k]! + d[k + 1]! * 7 + d[k + 2]! * 13) >>> 0;
      return h;
    }, i);
  const a = await sample();
  await sleep(1200);
  return (await sample()) !== a;
}

/** The page's layout: no horizontal scroll, the unmute buttons' boxes. */
async function layout(page: Page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    buttons: [...document.querySelectorAll('.live-unmute')].map((b) => {
      const r = b.getBoundingClientRect();
      return { width: r.width, height: r.height, visible: r.width > 0 && getComputedStyle(b).visibility !== 'hidden' };
    }),
    videos: [...document.querySelectorAll('.live-box')].map((b) => {
      const r = b.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    }),
  }));
}

// ---------------------------------------------------------------- the fake board

interface Media {
  mimeType: string;
  codecs: string[];
  init: Buffer;
  fragments: Buffer[];
  /** Real-time pace of one fragment (the file's duration over its fragment count). */
  fragmentMs: number;
}

/** A fragmented MP4 like the recorder writes, split at its top-level boxes. */
function makeMedia(file: string, size: string, profile: string[], seconds: number): Media {
  execFileSync('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=15`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000',
    '-c:v', 'libx264', ...profile, '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', '-t', String(seconds),
    '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', '-f', 'mp4', file,
  ]);
  const buf = readFileSync(file);
  const boxes: Array<{ type: string; bytes: Buffer }> = [];
  for (let o = 0; o + 8 <= buf.length; ) {
    const n = buf.readUInt32BE(o);
    boxes.push({ type: buf.toString('latin1', o + 4, o + 8), bytes: buf.subarray(o, o + n) });
    o += n;
  }
  const init = Buffer.concat(boxes.filter((b) => b.type === 'ftyp' || b.type === 'moov').map((b) => b.bytes));
  const fragments: Buffer[] = [];
  for (let i = 0; i < boxes.length; i++) {
    if (boxes[i]!.type === 'moof' && boxes[i + 1]?.type === 'mdat') fragments.push(Buffer.concat([boxes[i]!.bytes, boxes[i + 1]!.bytes]));
  }
  const a = init.indexOf('avcC');
  const avc = `avc1.${init.subarray(a + 5, a + 8).toString('hex')}`;
  const codecs = [avc, 'mp4a.40.2'];
  return { mimeType: `video/mp4; codecs="${codecs.join(', ')}"`, codecs, init, fragments, fragmentMs: (seconds * 1000) / fragments.length };
}

function frame(kind: number, camera: number, payload: Buffer | object): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const h = Buffer.alloc(6);
  h.writeUInt8(kind, 0);
  h.writeUInt8(camera, 1);
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}

/** One camera of one fake stream: status, init, a fragment every fragmentMs, looping (each loop a new "segment"). */
class FakeFeed {
  pos = 0;
  paused = false;
  sent = 0;
  private timer: NodeJS.Timeout;
  private keepalive: NodeJS.Timeout;
  private state: object = { state: 'live', message: 'live' };

  constructor(
    private readonly res: ServerResponse,
    private readonly index: number,
    public media: Media,
  ) {
    this.status({ state: 'live', message: 'live' });
    this.sendInit(true, 'start');
    this.tick(); // the board starts with the fragments since the last keyframe
    this.timer = setInterval(() => this.tick(), media.fragmentMs);
    this.keepalive = setInterval(() => this.write(frame(1, this.index, this.state)), 5000);
  }

  write(b: Buffer): void {
    if (!this.res.destroyed) this.res.write(b);
  }
  status(s: object): void {
    this.state = s;
    this.write(frame(1, this.index, s));
  }
  sendInit(configChanged: boolean, reason: string): void {
    this.write(frame(2, this.index, { mimeType: this.media.mimeType, codecs: this.media.codecs, configChanged, reason }));
    this.write(frame(3, this.index, this.media.init));
  }
  tick(): void {
    if (this.paused) return;
    if (this.pos >= this.media.fragments.length) {
      this.pos = 0;
      this.sendInit(false, 'segment');
    }
    this.write(frame(4, this.index, this.media.fragments[this.pos++]!));
    this.sent++;
  }
  offline(since: number): void {
    this.paused = true;
    this.status({ state: 'offline', since, message: 'no video from the camera' });
  }
  waiting(): void {
    this.paused = true;
    this.status({ state: 'waiting', message: 'nobody publishes this camera yet' });
  }
  online(reason = 'resync'): void {
    this.status({ state: 'live', message: 'live' });
    this.pos = 0;
    this.sendInit(true, reason);
    this.paused = false;
  }
  codecChange(media: Media): void {
    this.media = media;
    this.pos = 0;
    this.sendInit(true, 'segment');
  }
  gap(dropped: number): void {
    this.write(frame(5, this.index, { droppedFragments: dropped }));
    this.pos = 0;
    this.sendInit(false, 'resync');
  }
  /** Sends `speed` times faster than real time (a backlog the player has to skip). */
  setSpeed(speed: number): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), this.media.fragmentMs / speed);
  }
  /** Bytes that announce a 1.8 GB box: the browser's parser waits for it without an error. */
  garbage(): void {
    this.write(frame(4, this.index, Buffer.from('moof-that-is-not-an-mp4-box'.repeat(40))));
  }
  /** A fragment cut short (as if its file ended mid-box): the browser's parser waits for the rest. */
  cutFragment(): void {
    const f = this.media.fragments[Math.min(this.pos, this.media.fragments.length - 1)]!;
    this.write(frame(4, this.index, f.subarray(0, Math.floor(f.length / 2))));
  }
  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.keepalive);
  }
}

class FakeBoard {
  server!: Server;
  port = 0;
  streams: Array<{ cameras: string[]; feeds: FakeFeed[]; res: ServerResponse }> = [];
  /** The status code of the next stream requests (e.g. 503), then 200 again. */
  refuseNext: number[] = [];
  /** Requests for the HLS fallback's playlist. */
  hlsRequests = 0;
  cameras = [{ id: 'cam1', name: 'Kitchen' }, { id: 'cam2' }];

  constructor(readonly media: Media) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  latest() {
    return this.streams.at(-1)!;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    const single = /^\/live\/([a-z0-9_-]+)$/.exec(url.pathname);
    if (url.pathname === '/live' || url.pathname === '/live/' || single) {
      const cams = single ? this.cameras.filter((c) => c.id === single[1]) : this.cameras;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderLivePage({ cameras: cams, single: !!single }));
    } else if (/^\/api\/live\/[a-z0-9_-]+\/hls\/index\.m3u8$/.test(url.pathname)) {
      this.hlsRequests++;
      res.writeHead(503, { 'retry-after': '2' }).end('no live video yet');
    } else if (url.pathname === '/api/live/stream') {
      const status = this.refuseNext.shift();
      if (status) return void res.writeHead(status, { 'content-type': 'text/plain' }).end(`refused (${status})\n`);
      const cameras = url.searchParams.getAll('camera');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.flushHeaders();
      const s = { cameras, res, feeds: cameras.map((_, i) => new FakeFeed(res, i, this.media)) };
      this.streams.push(s);
      res.on('close', () => s.feeds.forEach((f) => f.stop()));
    } else {
      res.writeHead(404).end();
    }
  }

  async stop(): Promise<void> {
    for (const s of this.streams) {
      s.feeds.forEach((f) => f.stop());
      s.res.destroy();
    }
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe.skipIf(!haveChromium)('live view page against a fake board', () => {
  const tmp = tempDir('live-fake');
  let board: FakeBoard;
  let other: Media;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const media = makeMedia(path.join(tmp.dir, 'a.mp4'), '640x360', ['-preset', 'ultrafast'], 6);
    other = makeMedia(path.join(tmp.dir, 'b.mp4'), '480x270', ['-preset', 'veryfast', '-profile:v', 'main'], 4);
    expect(other.mimeType).not.toBe(media.mimeType);
    board = new FakeBoard(media);
    await board.start();
    browser = await launch();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.on('console', (m) => {
      if ((m.type() === 'warning' || m.type() === 'error') && !/favicon|status of 404/.test(m.text())) console.log(`[page ${m.type()}] ${m.text()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await board?.stop();
    tmp.cleanup();
  });

  it('plays within 2 s, muted, one tap unmutes', async () => {
    const ms = await firstFrameMs(page, `${board.base}/live/cam1`);
    console.log(`[measure] live view (fake board): first frame ${ms} ms after opening (${JSON.stringify((await cam(page)).timing)})\n${(await cam(page)).events.join('\n')}`);
    expect(ms).toBeLessThan(4000); // 2 s is the target; a loaded 2-core box gets some slack
    let s = await cam(page);
    expect(s.muted).toBe(true);
    expect(s.overlay).toBe('');
    expect(s.mime).toBe(board.media.mimeType);
    expect(await framesChange(page)).toBe(true);
    await expect.poll(async () => page.locator('.live-lag').textContent(), { timeout: 5000 }).toMatch(/^\d+\.\d s behind live/);
    expect(await page.locator('.live-unmute').textContent()).toMatch(/unmute/);
    await page.locator('.live-unmute').click();
    s = await cam(page);
    expect(s.muted).toBe(false);
    expect(s.paused).toBe(false);
    expect(await page.locator('.live-unmute').getAttribute('aria-pressed')).toBe('true');
    await page.locator('.live-unmute').click();
    expect((await cam(page)).muted).toBe(true);
    // links of the single page: the cameras page, the timeline, the grid
    const links = await page.locator('.live-links a').evaluateAll((as) => as.map((a) => (a as { href: string }).href));
    expect(links).toEqual([`${board.base}/`, `${board.base}/timeline?camera=cam1`, `${board.base}/live`]);
    expect(await page.locator('nav a').first().evaluate((a) => (a as { href: string }).href)).toBe(`${board.base}/`);
  }, 60_000);

  it('a new segment with the same codec configuration: the init is skipped, playback goes on', async () => {
    const s0 = await cam(page);
    const loopMs = board.media.fragmentMs * board.media.fragments.length;
    await sleep(loopMs + 1500);
    const s1 = await cam(page);
    expect(s1.initsSkipped).toBeGreaterThan(s0.initsSkipped);
    expect(s1.currentTime).toBeGreaterThan(s0.currentTime + loopMs / 1000 - 1.5);
    expect(s1.rebuilds).toBe(0);
    expect(s1.lag).toBeLessThan(1.5);
  }, 30_000);

  it('offline: the notice with the time, the last frame stays; resumes by itself', async () => {
    const since = Date.now() - 5000;
    board.latest().feeds[0]!.offline(since);
    const expected = `camera offline since ${await page.evaluate((t) => new Date(t).toLocaleTimeString(), since)}`;
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 5000 }).toContain(expected);
    await sleep(1500);
    const off = await cam(page);
    expect(off.state).toBe('offline');
    expect(off.readyState).toBeGreaterThanOrEqual(2); // the last frame is still there
    expect(off.videoWidth).toBe(640);
    await page.screenshot({ path: path.join(SHOTS, 'live-fake-offline.png') });
    board.latest().feeds[0]!.online();
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 5000 }).toBe('');
    const t = (await cam(page)).currentTime;
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 5000 }).toBeGreaterThan(t + 1);
    expect((await cam(page)).lag).toBeLessThan(1.5);
  }, 30_000);

  it('waiting for the recorder: says so, resumes', async () => {
    board.latest().feeds[0]!.waiting();
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 5000 }).toContain('waiting for the recorder…');
    board.latest().feeds[0]!.online('start');
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 5000 }).toBe('');
    const t = (await cam(page)).currentTime;
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 5000 }).toBeGreaterThan(t + 1);
  }, 30_000);

  it('a codec change (another mimeType) switches the SourceBuffer and plays on', async () => {
    board.latest().feeds[0]!.codecChange(other);
    await expect.poll(async () => (await cam(page)).videoWidth, { timeout: 8000 }).toBe(480);
    const s = await cam(page);
    expect(s.mime).toBe(other.mimeType);
    expect(s.typeChanges).toBe(1);
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 5000 }).toBeGreaterThan(s.currentTime + 1);
    expect((await cam(page)).overlay).toBe('');
    board.latest().feeds[0]!.codecChange(board.media);
    await expect.poll(async () => (await cam(page)).videoWidth, { timeout: 8000 }).toBe(640);
  }, 30_000);

  it('a gap (fragments dropped for this client): plays on from the next keyframe', async () => {
    board.latest().feeds[0]!.gap(4);
    await sleep(300);
    const s = await cam(page);
    expect(s.gaps).toBe(1);
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 5000 }).toBeGreaterThan(s.currentTime + 1);
    expect((await cam(page)).lag).toBeLessThan(1.5);
  }, 30_000);

  it('catch-up: after the page was blocked for 5 s it is back at the live edge within 1.5 s', async () => {
    const before = await cam(page);
    await page.evaluate(() => {
      const t = Date.now();
      while (Date.now() - t < 5000) {
        /* the page's event loop is blocked */
      }
    });
    await sleep(1500);
    const after = await cam(page);
    console.log(`[measure] live view (fake board): ${after.lag?.toFixed(2)} s behind 1.5 s after a 5 s block (jumps ${before.jumps} → ${after.jumps})`);
    expect(after.lag).toBeLessThan(1.5);
    expect(after.jumps).toBeGreaterThan(before.jumps);
  }, 30_000);

  it('memory stays flat: buffer older than ~30 s behind the playhead is removed', async () => {
    const feed = board.latest().feeds[0]!;
    feed.setSpeed(4); // 4 s of video a second: the player jumps ahead and its buffer grows
    await sleep(16_000);
    feed.setSpeed(1);
    await sleep(3000);
    const s = await cam(page);
    console.log(`[measure] live view (fake board): buffered ${s.buffered.map((t) => t.toFixed(1)).join('–')} s at currentTime ${s.currentTime.toFixed(1)} after ~70 s of video`);
    expect(s.currentTime).toBeGreaterThan(55);
    expect(s.currentTime - s.buffered[0]!).toBeLessThan(42.5);
    expect(s.lag).toBeLessThan(1.5);
    expect(s.overlay).toBe('');
  }, 40_000);

  it('a fragment cut short: the player resets its parser and plays on', async () => {
    const before = await cam(page);
    board.latest().feeds[0]!.cutFragment();
    await expect.poll(async () => (await cam(page)).events.some((e) => /parser reset|rebuild/.test(e)), { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await cam(page)).readyState, { timeout: 8000 }).toBeGreaterThanOrEqual(3);
    const t = (await cam(page)).currentTime;
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 8000 }).toBeGreaterThan(t + 1);
    expect((await cam(page)).overlay).toBe('');
  }, 30_000);

  it('a garbled box that keeps the parser waiting: reset, plays on', async () => {
    const before = await cam(page);
    board.latest().feeds[0]!.garbage();
    await expect.poll(async () => (await cam(page)).events.filter((e) => /parser reset|rebuild/.test(e)).length, { timeout: 15_000 }).toBeGreaterThan(before.events.filter((e) => /parser reset|rebuild/.test(e)).length);
    await expect.poll(async () => (await cam(page)).readyState, { timeout: 8000 }).toBeGreaterThanOrEqual(3);
    const t = (await cam(page)).currentTime;
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 8000 }).toBeGreaterThan(t + 1);
    expect((await cam(page)).overlay).toBe('');
  }, 30_000);

  it('the stream ends: reconnects by itself (and after a refused attempt), plays again', async () => {
    const n = board.streams.length;
    board.refuseNext.push(503);
    board.latest().res.end();
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 3000 }).toMatch(/reconnecting…/);
    expect(await page.locator('.live-overlay').textContent()).toMatch(/reconnecting…/);
    await waitFor('a new stream', () => board.streams.length > n, 10_000, 100);
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 5000 }).toBe('');
    const t = (await cam(page)).currentTime;
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 5000 }).toBeGreaterThan(t + 1);
    expect(await page.evaluate(() => (window as unknown as { liveView: { conn: { connections: number } } }).liveView.conn.connections)).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('the grid: both cameras on one connection, one column at 390 px, tiles link to their page', async () => {
    const n = board.streams.length;
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${board.base}/live`);
    await waitFor('both playing', async () => (await stats(page)).every((s) => s.currentTime > 0.5 && s.readyState >= 3), 10_000, 100);
    expect(board.streams.length).toBe(n + 1);
    expect(board.latest().cameras).toEqual(['cam1', 'cam2']);
    let l = await layout(page);
    expect(new Set(l.videos.map((v) => Math.round(v.top))).size).toBe(1); // side by side
    expect(await page.locator('.live-tile figcaption a').evaluateAll((as) => as.map((a) => (a as { href: string }).href))).toEqual([`${board.base}/live/cam1`, `${board.base}/live/cam2`]);
    // one camera heard at a time
    await page.locator('.live-unmute').nth(0).click();
    await page.locator('.live-unmute').nth(1).click();
    expect((await stats(page)).map((s) => s.muted)).toEqual([true, false]);
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(300);
    l = await layout(page);
    expect(l.scrollWidth).toBeLessThanOrEqual(l.clientWidth);
    expect(l.videos[1]!.top).toBeGreaterThan(l.videos[0]!.top + l.videos[0]!.height - 1); // one column
    for (const b of l.buttons) expect(Math.min(b.width, b.height)).toBeGreaterThanOrEqual(44);
    await page.screenshot({ path: path.join(SHOTS, 'live-fake-grid-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 30_000);

  it('QuotaExceededError: trims the buffer behind the playhead and appends again', async () => {
    const p = await ctx.newPage();
    await p.addInitScript(() => {
      const orig = SourceBuffer.prototype.appendBuffer;
      let calls = 0;
      SourceBuffer.prototype.appendBuffer = function (this: unknown, data: unknown) {
        calls++;
        if (calls === 24) throw new DOMException('the buffer is full (test)', 'QuotaExceededError');
        return orig.call(this, data);
      };
    });
    await p.goto(`${board.base}/live/cam1`);
    await expect.poll(async () => (await cam(p)).quotaTrims, { timeout: 20_000 }).toBe(1);
    const t = (await cam(p)).currentTime;
    await expect.poll(async () => (await cam(p)).currentTime, { timeout: 8000 }).toBeGreaterThan(t + 1);
    const s = await cam(p);
    expect(s.buffered[0]).toBeGreaterThan(2); // the start went
    expect(s.rebuilds).toBe(0);
    expect(s.lag).toBeLessThan(1.5);
    await p.close();
  }, 30_000);

  it('a browser without MSE that plays HLS itself gets the HLS fallback', async () => {
    const p = await ctx.newPage();
    await p.addInitScript(() => {
      delete window.MediaSource;
      delete window.ManagedMediaSource;
    });
    const n = board.streams.length;
    const h = board.hlsRequests;
    await p.goto(`${board.base}/live/cam1`);
    await expect.poll(async () => (await cam(p)).mode, { timeout: 5000 }).toBe('hls');
    await waitFor('the playlist requested', () => board.hlsRequests > h, 10_000, 100);
    expect((await cam(p)).src).toBe(`${board.base}/api/live/cam1/hls/index.m3u8`);
    // the fake answers 503 (no video yet): it tries again by itself
    await waitFor('the playlist requested again', () => board.hlsRequests > h + 1, 10_000, 100);
    expect(await p.locator('.live-overlay').textContent()).toMatch(/connecting…/);
    expect(board.streams.length).toBe(n); // and no MSE stream
    await p.close();
  }, 30_000);

  it('a browser without MSE nor HLS says so instead of failing silently', async () => {
    const p = await ctx.newPage();
    await p.addInitScript(() => {
      delete window.MediaSource;
      delete window.ManagedMediaSource;
      const orig = window.HTMLMediaElement.prototype.canPlayType;
      window.HTMLMediaElement.prototype.canPlayType = function (this: unknown, type: string) {
        return /mpegurl/i.test(type) ? '' : orig.call(this, type);
      };
    });
    const n = board.streams.length;
    await p.goto(`${board.base}/live/cam1`);
    await expect(p.locator('.live-overlay').textContent()).resolves.toBe('this browser cannot play live video: Safari 17.1+ / Chrome / Firefox needed');
    await sleep(500);
    expect(board.streams.length).toBe(n); // and it does not fetch a stream it cannot play
    expect((await cam(p)).mode).toBe('none');
    await p.screenshot({ path: path.join(SHOTS, 'live-fake-no-mse.png') });
    await p.close();
  }, 30_000);
});

// ---------------------------------------------------------------- the real stack

/** ESTABLISHED TCP connections whose local port is `port` (server side of the camera's RTSP clients). */
function establishedTo(port: number): number {
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const local = cols[1]!.split(':')[1];
      if (local && parseInt(local, 16) === port && cols[3] === '01') n++;
    }
  }
  return n;
}

describe.skipIf(!haveChromium)('live view in Chromium with the real stack', () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  let base = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = new TestStack('live-view');
    await stack.startRecording([{ id: 'cam1', segmentSeconds: 4 }]);
    await stack.start('board');
    base = `http://127.0.0.1:${stack.boardPort}`;
    await waitFor('the board', async () => (await fetch(`${base}/api/health`)).ok, 30_000, 250);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if ((m.type() === 'warning' || m.type() === 'error') && !/favicon|status of 404/.test(m.text())) console.log(`[page ${m.type()}] ${m.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stopApps().catch(() => {});
    await stack?.cleanup();
  });

  it('the cameras page links to the live view', async () => {
    await page.goto(`${base}/`);
    const href = await page.locator('.card a', { hasText: /^live$/ }).first().evaluate((a) => (a as { href: string }).href);
    expect(href).toBe(`${base}/live/cam1`);
  }, 30_000);

  it('/live/cam1 plays: first frame, frames change, muted, one tap unmutes', async () => {
    const ms = await firstFrameMs(page, `${base}/live/cam1`);
    console.log(`[measure] live view: first frame ${ms} ms after opening (ms after navigation: ${JSON.stringify((await cam(page)).timing)})`);
    expect(ms).toBeLessThan(8000);
    expect(await framesChange(page)).toBe(true);
    const s = await cam(page);
    expect(s.muted).toBe(true);
    expect(s.overlay).toBe('');
    await page.locator('.live-unmute').click();
    expect((await cam(page)).muted).toBe(false);
    expect((await cam(page)).paused).toBe(false);
    await page.locator('.live-unmute').click();
    expect((await cam(page)).muted).toBe(true);
  }, 60_000);

  it('stays at the live edge: under 1.5 s behind after 10 s of playing, and after a 5 s block', async () => {
    const lags: number[] = [];
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      lags.push((await cam(page)).lag ?? NaN);
      await sleep(200);
    }
    let s = await cam(page);
    const sorted = [...lags].sort((a, b) => a - b);
    console.log(
      `[measure] live view: behind the newest buffered frame over 10 s of playing: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} s, max ${sorted.at(-1)!.toFixed(2)} s; ` +
        `now ${s.lag?.toFixed(2)} s (newest fragment ${s.newestFragmentAgeMs?.toFixed(0)} ms old), ${s.jumps} jumps, ${s.stalls} stalls, rate ${s.playbackRate}`,
    );
    expect(s.lag).toBeLessThan(1.5);
    await page.evaluate(() => {
      const t = Date.now();
      while (Date.now() - t < 5000) {
        /* blocked */
      }
    });
    await sleep(1500);
    s = await cam(page);
    console.log(`[measure] live view: ${s.lag?.toFixed(2)} s behind 1.5 s after a 5 s block of the page`);
    expect(s.lag).toBeLessThan(1.5);
  }, 60_000);

  it('screenshots and boxes at 390×844 and 1280×900 (no horizontal scroll, unmute ≥ 44 px)', async () => {
    for (const [w, h] of [[390, 844], [1280, 900]] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.goto(`${base}/live/cam1`);
      await waitFor('playing', async () => ((await cam(page)).currentTime > 0.5 ? true : undefined), 15_000, 100);
      await sleep(1000);
      const l = await layout(page);
      console.log(`[measure] live view ${w}x${h}: video box ${Math.round(l.videos[0]!.width)}×${Math.round(l.videos[0]!.height)}, unmute button ${Math.round(l.buttons[0]!.width)}×${Math.round(l.buttons[0]!.height)}, scrollWidth ${l.scrollWidth}/${l.clientWidth}`);
      expect(l.scrollWidth).toBeLessThanOrEqual(l.clientWidth);
      expect(l.buttons[0]!.height).toBeGreaterThanOrEqual(44);
      expect(l.buttons[0]!.width).toBeGreaterThanOrEqual(44);
      expect(l.videos[0]!.width).toBeGreaterThan(w * 0.85);
      await page.screenshot({ path: path.join(SHOTS, `live-cam1-${w}.png`) });
      await page.goto(`${base}/live`);
      await waitFor('the grid playing', async () => ((await cam(page)).currentTime > 0.5 ? true : undefined), 15_000, 100);
      await sleep(1000);
      const g = await layout(page);
      expect(g.scrollWidth).toBeLessThanOrEqual(g.clientWidth);
      await page.screenshot({ path: path.join(SHOTS, `live-grid-${w}.png`), fullPage: true });
    }
  }, 90_000);

  it('/live shows the camera, its tile links to /live/cam1', async () => {
    await page.goto(`${base}/live`);
    const tile = page.locator('.live-tile[data-camera="cam1"]');
    await expect(tile.count()).resolves.toBe(1);
    expect(await tile.locator('figcaption a').evaluate((a) => (a as { href: string }).href)).toBe(`${base}/live/cam1`);
    await waitFor('the grid playing', async () => ((await cam(page)).currentTime > 0.5 ? true : undefined), 15_000, 100);
    await tile.locator('figcaption a').click();
    await page.waitForURL(`${base}/live/cam1`);
  }, 60_000);

  it('no MSE: the HLS fallback plays (the browser\'s own HLS player)', async () => {
    const p = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await p.addInitScript(() => {
      delete window.MediaSource;
      delete window.ManagedMediaSource;
    });
    const ms = await firstFrameMs(p, `${base}/live/cam1`);
    const s = await cam(p);
    expect(s.mode).toBe('hls');
    expect(s.src).toBe(`${base}/api/live/cam1/hls/index.m3u8`);
    const t = s.currentTime;
    await expect.poll(async () => (await cam(p)).currentTime, { timeout: 10_000 }).toBeGreaterThan(t + 1);
    console.log(`[measure] live view, HLS fallback: first frame ${ms} ms after opening, ${(await cam(p)).lag?.toFixed(1)} s behind the newest HLS segment`);
    expect((await cam(p)).overlay).toBe('');
    await p.screenshot({ path: path.join(SHOTS, 'live-hls-390.png') });
    await p.close();
  }, 60_000);

  it('three pages watching: the camera sees exactly one RTSP client', async () => {
    const before = establishedTo(stack.camera.port);
    const pages = [page, await browser.newPage(), await browser.newPage()];
    for (const p of pages) await p.goto(`${base}/live/cam1`);
    for (const p of pages) await waitFor('playing', async () => ((await cam(p)).currentTime > 0.5 ? true : undefined), 15_000, 100);
    await sleep(2000);
    const n = establishedTo(stack.camera.port);
    console.log(`[measure] live view: ${n} RTSP client connection(s) at the camera with 3 pages watching (${before} before)`);
    expect(n).toBe(1);
    for (const p of pages) expect((await cam(p)).lag).toBeLessThan(1.5);
    for (const p of pages.slice(1)) await p.close();
  }, 60_000);
  it('camera frozen while watching: "camera offline since …" over the last frame; resumes by itself after SIGCONT', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${base}/live/cam1`);
    await waitFor('playing', async () => ((await cam(page)).currentTime > 0.5 ? true : undefined), 15_000, 100);
    const frozenAt = Date.now();
    stack.camera.freeze();
    try {
      await expect.poll(async () => (await cam(page)).overlay, { timeout: 30_000, interval: 250 }).toMatch(/^camera offline since \d/);
      const s = await cam(page);
      console.log(`[measure] live view: "${s.overlay}" ${Date.now() - frozenAt} ms after the camera froze`);
      expect(s.readyState).toBeGreaterThanOrEqual(2); // the last frame stays
      expect(s.videoWidth).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(SHOTS, 'live-offline-1280.png') });
    } finally {
      stack.camera.resume();
    }
    const resumedAt = Date.now();
    await expect.poll(async () => (await cam(page)).overlay, { timeout: 40_000, interval: 250 }).toBe('');
    const t = (await cam(page)).currentTime;
    await expect.poll(async () => (await cam(page)).currentTime, { timeout: 10_000 }).toBeGreaterThan(t + 1);
    console.log(`[measure] live view: playing again ${Date.now() - resumedAt} ms after SIGCONT (without a reload)`);
  }, 120_000);
});
