// Operators' view: the board's JSON API, pages, file serving (ranges, path
// safety), thumbnails, exports and basic auth, against a recording stack.
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@tapo/sim-camera';
import { waitFor } from './helpers/env.js';
import { ffprobe } from './helpers/ffprobe.js';
import { TestStack } from './helpers/stack.js';

interface SegmentJson {
  file: string;
  start: string;
  end: string;
  durationSeconds: number;
  bytes: number;
  status: string;
  url: string;
}

/** A raw GET (no URL normalisation by the client), with an optional basic-auth header. */
function rawGet(port: number, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('board: operators view (API, pages, files, exports, auth)', () => {
  const stack = new TestStack('board');
  const outsideSecret = `OUTSIDE-SECRET-${Date.now()}`;
  let base = '';
  let segments: SegmentJson[] = [];
  let exportId = '';
  const bodies: Array<{ url: string; body: string }> = [];

  const get = async (u: string, init?: RequestInit) => {
    const r = await fetch(base + u, init);
    const buf = Buffer.from(await r.arrayBuffer());
    bodies.push({ url: u, body: buf.toString('latin1') });
    return { status: r.status, headers: r.headers, buf, text: buf.toString('utf8') };
  };

  beforeAll(async () => {
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', segmentSeconds: 4 }]);
    await stack.start('scheduler');
    await stack.start('worker');
    await stack.start('board');
    base = `http://127.0.0.1:${stack.boardPort}`;
    await waitFor('the board', async () => (await fetch(`${base}/api/health`)).ok, 30_000);
    // At least 5 closed, indexed segments (~20 s of recording).
    segments = await waitFor(
      '5 indexed segments',
      async () => {
        const r = await fetch(`${base}/api/cameras/cam1/segments`);
        const j = (await r.json()) as { segments: SegmentJson[] };
        return j.segments.length >= 5 ? j.segments : undefined;
      },
      90_000,
      1000,
    );
    // Something outside recordingsDir, reachable through symlinks inside it.
    const outside = path.join(stack.dir, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'secret.txt'), outsideSecret);
    writeFileSync(path.join(outside, 'cam1-20200102T000000Z.mp4'), outsideSecret);
    mkdirSync(path.join(stack.recordingsDir, 'cam1', '2020-01-01'), { recursive: true });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(stack.recordingsDir, 'cam1', '2020-01-01', 'cam1-20200101T000000Z.mp4'));
    symlinkSync(outside, path.join(stack.recordingsDir, 'cam1', '2020-01-02'));
  }, 150_000);

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('GET /api/cameras: cam1 recording, with host, fps, bitrate, last segment and disk used', async () => {
    const r = await get('/api/cameras');
    expect(r.status).toBe(200);
    const { cameras } = JSON.parse(r.text) as { cameras: Array<Record<string, unknown>> };
    const cam = cameras.find((c) => c.id === 'cam1')!;
    expect(cam).toMatchObject({ id: 'cam1', state: 'recording', jobState: 'active' });
    expect(cam.fps as number).toBeGreaterThan(0);
    expect(typeof cam.host).toBe('string');
    expect(cam.uptimeSeconds as number).toBeGreaterThanOrEqual(0);
    expect(cam.bitrateBps as number).toBeGreaterThan(0);
    expect(cam.lastSegmentAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(cam.diskBytes as number).toBeGreaterThan(1000);
    expect(JSON.stringify(cameras)).not.toContain('rtsp://');
  });

  it('GET /api/cameras/:id/segments lists the indexed segments (default: last 24 h; from/to honoured)', async () => {
    expect(segments.length).toBeGreaterThanOrEqual(2);
    for (const s of segments) {
      expect(s.file).toMatch(/^cam1\/\d{4}-\d{2}-\d{2}\/cam1-\d{8}T\d{6}Z\.mp4$/);
      expect(s.durationSeconds).toBeGreaterThan(0);
    }
    const from = new Date(Date.now() - 3600_000 * 48).toISOString();
    const to = new Date(Date.now() - 3600_000 * 47).toISOString();
    const empty = await get(`/api/cameras/cam1/segments?from=${from}&to=${to}`);
    expect(empty.status).toBe(200);
    expect((JSON.parse(empty.text) as { segments: unknown[] }).segments).toEqual([]);
    expect((await get('/api/cameras/cam1/segments?from=garbage')).status).toBe(400);
  });

  it('GET /api/segments/...: range requests (206), full file, content type, download', async () => {
    const seg = segments[1]!;
    const size = statSync(path.join(stack.recordingsDir, seg.file)).size;
    const part = await get(seg.url, { headers: { Range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(part.buf.length).toBe(100);
    expect(part.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
    expect(part.headers.get('accept-ranges')).toBe('bytes');
    expect(part.headers.get('content-type')).toMatch(/^video\/mp4/);
    const full = await get(seg.url);
    expect(full.status).toBe(200);
    expect(full.buf.length).toBe(size);
    const dl = await get(`${seg.url}?download=1`);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="cam1-\d{8}T\d{6}Z\.mp4"/);
    expect((await get('/api/segments/cam1/2020-01-05/cam1-20200105T000000Z.mp4')).status).toBe(404);
  });

  it('GET /api/cameras/:id/thumbnail.jpg returns a JPEG', async () => {
    const r = await get('/api/cameras/cam1/thumbnail.jpg');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^image\/jpeg/);
    expect(r.buf[0]).toBe(0xff);
    expect(r.buf[1]).toBe(0xd8);
    // Cached: a second request answers the same image.
    const again = await get('/api/cameras/cam1/thumbnail.jpg');
    expect(again.buf.equals(r.buf)).toBe(true);
  });

  it('pages: cameras, timeline, play and export answer 200 and link to each other', async () => {
    const home = await get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('cam1');
    expect(home.text).toContain('recording');
    expect(home.text).toContain('api/cameras/cam1/thumbnail.jpg');
    const day = segments[0]!.file.split('/')[1]!;
    const tl = await get(`/timeline?camera=cam1&day=${day}`);
    expect(tl.status).toBe(200);
    expect(tl.text).toMatch(/href="play\?camera=cam1&amp;file=cam1%2F/);
    const tl24 = await get('/timeline?camera=cam1');
    expect(tl24.status).toBe(200);
    expect((await get('/timeline?camera=cam1&day=nope')).status).toBe(400);
    const play = await get(`/play?camera=cam1&file=${encodeURIComponent(segments[0]!.file)}`);
    expect(play.status).toBe(200);
    expect(play.text).toContain('<video');
    expect(play.text).toContain(`api/segments/${segments[0]!.file}`);
    expect(play.text).toContain('?download=1');
    const exp = await get('/export?camera=cam1');
    expect(exp.status).toBe(200);
    expect(exp.text).toContain('api/exports');
    expect((await get('/queues')).status).toBe(200);
  });

  it('path traversal and symlinks out of recordingsDir are rejected', async () => {
    const day = segments[0]!.file.split('/')[1]!;
    const attempts = [
      '/api/segments/cam1/..%2f..%2fetc/passwd',
      '/api/segments/..%2f..%2f/x/y',
      '/api/segments/cam1/..%2F..%2F..%2Foutside/secret.txt',
      '/api/segments/cam1/%2e%2e/%2e%2e',
      `/api/segments/cam1/${day}/..%5c..%5c..%5coutside%5csecret.txt`,
      `/api/segments/cam1/${day}/..\\..\\..\\outside\\secret.txt`,
      '/api/segments/cam1/%252e%252e/secret.txt',
      `/api/segments/cam1/${day}/cam1-20200101T000000Z.mp4%00`,
      '/api/segments/cam1/../../outside/secret.txt',
      '/api/segments/%2Fetc/passwd/x',
      // Symlinks inside recordingsDir pointing outside:
      '/api/segments/cam1/2020-01-01/cam1-20200101T000000Z.mp4',
      '/api/segments/cam1/2020-01-02/cam1-20200102T000000Z.mp4',
      '/api/exports/..%2f..%2fetc/file',
      '/play?camera=cam1&file=../../outside/secret.txt',
      '/play?camera=cam1&file=cam1/2020-01-01/..%2f..%2f..%2foutside%2fsecret.txt',
      '/play?camera=cam1&file=%2Fetc%2Fpasswd',
    ];
    for (const a of attempts) {
      const r = await rawGet(stack.boardPort, a);
      expect([400, 404], `${a} → ${r.status}`).toContain(r.status);
      const body = r.body.toString('latin1');
      expect(body.includes(outsideSecret), a).toBe(false);
      expect(body.includes('root:'), a).toBe(false);
    }
  });

  it('export: a range covering 3 segments becomes one file of their total duration', async () => {
    // Segments 2-4. Index times come from the file names (whole seconds, and the
    // first segment holds what the camera sent at connect): neighbours may
    // overlap a little, so the range starts after the previous one ends and
    // ends before the next one starts.
    const [s0, s1, , s3, s4] = segments.slice(0, 5) as [SegmentJson, SegmentJson, SegmentJson, SegmentJson, SegmentJson];
    const chosen = segments.slice(1, 4);
    const fromMs = Math.max(Date.parse(s0.end), Date.parse(s1.start)) + 100;
    const toMs = Math.min(Date.parse(s3.end), Date.parse(s4.start)) - 100;
    expect(toMs).toBeGreaterThan(fromMs);
    const from = new Date(fromMs).toISOString();
    const to = new Date(toMs).toISOString();
    const post = await get('/api/exports', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ camera: 'cam1', from, to }),
    });
    expect(post.status).toBe(202);
    exportId = String((JSON.parse(post.text) as { id: string }).id);
    expect(exportId).toMatch(/^[A-Za-z0-9_-]+$/);
    const done = await waitFor(
      'export completed',
      async () => {
        const r = await get(`/api/exports/${exportId}`);
        const j = JSON.parse(r.text) as { state: string; failedReason?: string; downloadUrl?: string; result?: { file: string; segments: number; durationSeconds: number; bytes: number } };
        if (j.state === 'failed') throw new Error(`export failed: ${j.failedReason}`);
        return j.state === 'completed' ? j : undefined;
      },
      60_000,
      500,
    );
    const now = JSON.parse((await get('/api/cameras/cam1/segments')).text) as { segments: SegmentJson[] };
    expect(done.result!.segments, JSON.stringify({ from, to, now: now.segments.map((s) => [s.file, s.start, s.end]) })).toBe(3);
    expect(done.downloadUrl).toBe(`/api/exports/${exportId}/file`);
    const file = path.join(stack.recordingsDir, done.result!.file);
    expect(file).toBe(path.join(stack.recordingsDir, '.exports', `${exportId}.mp4`));
    let sum = 0;
    for (const s of chosen) sum += (await ffprobe(path.join(stack.recordingsDir, s.file))).durationSeconds;
    const probe = await ffprobe(file);
    expect(probe.ok).toBe(true);
    console.log(`[measure] export of 3 segments: ${probe.durationSeconds.toFixed(3)} s vs sum ${sum.toFixed(3)} s`);
    expect(Math.abs(probe.durationSeconds - sum)).toBeLessThan(0.2);
    const dl = await get(done.downloadUrl!);
    expect(dl.status).toBe(200);
    expect(dl.buf.length).toBe(statSync(file).size);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment/);
    const part = await get(done.downloadUrl!, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.buf.length).toBe(10);
    // Bad requests.
    const bad = async (body: unknown) =>
      (await get('/api/exports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect(await bad({ camera: '../x', from, to })).toBe(400);
    expect(await bad({ camera: 'cam1', from: to, to: from })).toBe(400);
    expect(await bad({ camera: 'nope', from, to })).toBe(404);
    expect((await get('/api/exports/999999')).status).toBe(404);
    // A range with nothing recorded: the job fails at once (no retries), with a reason.
    const old = await get('/api/exports', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ camera: 'cam1', from: new Date(Date.now() - 48 * 3600_000).toISOString(), to: new Date(Date.now() - 47 * 3600_000).toISOString() }),
    });
    expect(old.status).toBe(202);
    const oldId = String((JSON.parse(old.text) as { id: string }).id);
    const failed = await waitFor(
      'empty export failed',
      async () => {
        const j = JSON.parse((await get(`/api/exports/${oldId}`)).text) as { state: string; failedReason?: string };
        return j.state === 'failed' ? j : undefined;
      },
      30_000,
      300,
    );
    expect(failed.failedReason).toMatch(/no recording of cam1/);
    expect((await get(`/api/exports/${oldId}/file`)).status).toBe(404);
  });

  it('GET /metrics: per-camera gauges and queue depths in the Prometheus format', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const value = (re: RegExp) => {
      const m = re.exec(r.text);
      expect(m, String(re)).not.toBeNull();
      return Number(m![1]);
    };
    expect(value(/^tapo_camera_state\{camera="cam1",state="recording"\} (\S+)$/m)).toBe(1);
    expect(value(/^tapo_camera_state\{camera="cam1",state="reconnecting"\} (\S+)$/m)).toBe(0);
    expect(value(/^tapo_camera_bytes_written\{camera="cam1"\} (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^tapo_camera_segments_closed\{camera="cam1"\} (\S+)$/m)).toBeGreaterThanOrEqual(4);
    expect(value(/^tapo_camera_ffmpeg_restarts\{camera="cam1"\} (\S+)$/m)).toBeGreaterThanOrEqual(0);
    expect(value(/^tapo_camera_seconds_since_last_segment\{camera="cam1"\} (\S+)$/m)).toBeGreaterThanOrEqual(0);
    expect(value(/^tapo_camera_disk_bytes\{camera="cam1"\} (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^tapo_queue_jobs\{queue="record",state="active"\} (\S+)$/m)).toBe(1);
    expect(value(/^tapo_queue_jobs\{queue="export",state="completed"\} (\S+)$/m)).toBe(1);
    for (const q of ['repair', 'maintenance']) expect(r.text).toContain(`tapo_queue_jobs{queue="${q}",state="waiting"}`);
    expect(value(/^tapo_camera_stalls\{camera="cam1"\} (\S+)$/m)).toBe(0);
    expect(value(/^tapo_prune_deleted_segments_total (\S+)$/m)).toBeGreaterThanOrEqual(0);
    expect(r.text).toMatch(/^tapo_repair_outcomes_total\{outcome="repaired"\} \d+$/m);
  });

  it('no camera password in any page or API answer', () => {
    expect(bodies.length).toBeGreaterThan(10);
    for (const b of bodies) {
      expect(b.body.includes(stack.password), b.url).toBe(false);
      expect(b.body.includes(`${stack.user}:`), b.url).toBe(false);
    }
  });

  it('with BOARD_USER/BOARD_PASSWORD every route needs them (401 without, 200 with)', async () => {
    const port = await freePort();
    const board = await stack.start('board', { BOARD_PORT: String(port), BOARD_USER: 'op', BOARD_PASSWORD: 'board-secret-1' });
    await waitFor('the second board', async () => (await rawGet(port, '/api/health')).status === 401, 30_000);
    const auth = { Authorization: `Basic ${Buffer.from('op:board-secret-1').toString('base64')}` };
    const wrong = { Authorization: `Basic ${Buffer.from('op:nope').toString('base64')}` };
    const routes = [
      '/',
      '/timeline?camera=cam1',
      `/play?camera=cam1&file=${encodeURIComponent(segments[0]!.file)}`,
      '/export',
      '/queues',
      '/api/health',
      '/metrics',
      '/api/cameras',
      '/api/cameras/cam1/segments',
      segments[0]!.url,
      '/api/cameras/cam1/thumbnail.jpg',
      `/api/exports/${exportId}`,
      `/api/exports/${exportId}/file`,
    ];
    for (const u of routes) {
      expect((await rawGet(port, u)).status, `${u} without credentials`).toBe(401);
      expect((await rawGet(port, u, wrong)).status, `${u} with a wrong password`).toBe(401);
      expect((await rawGet(port, u, auth)).status, `${u} with credentials`).toBe(200);
    }
    const post = await fetch(`http://127.0.0.1:${port}/api/exports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(401);
    await board.stop();
  });
});
