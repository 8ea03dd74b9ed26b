// Issue 13, the receiving side of live copies (POST …/live and …/finish on a real board): appends in
// order, idempotent on retry, a hole refused with what is held, only whole boxes accepted (the copy
// plays at any moment), finish with a wrong sha256 refused, finish → an ordinary indexed segment
// that the whole-segment upload then finds "already"; without the token nothing is written.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentIndex } from '@tapo/segment-index';
import { dayFolderName, segmentFileName } from '@tapo/storage';
import { ffprobe } from './helpers/ffprobe.js';
import { makeFragmented } from './helpers/media.js';
import { waitFor } from './helpers/env.js';
import { TestStack } from './helpers/stack.js';

const TOKEN = 'sender-live-token-0123456789';

/** Top-level box boundaries of an MP4 buffer. */
function boxEnds(buf: Buffer): number[] {
  const ends: number[] = [];
  let at = 0;
  while (at < buf.length) {
    at += buf.readUInt32BE(at);
    ends.push(at);
  }
  return ends;
}

describe('live copies: the receiving board', () => {
  const b = new TestStack('live-rx');
  let file: Buffer;
  let base = '';
  const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const name = segmentFileName('cam9', start);
  const stored = path.join(b.recordingsDir, 'rx-cam9', dayFolderName(start), segmentFileName('rx-cam9', start));
  const live = path.join(path.dirname(stored), `.${path.basename(stored)}.live`);

  const append = (offset: number, body: Buffer, token = TOKEN) =>
    fetch(`${base}/api/replica/segments/cam9/${name}/live`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'x-live-offset': String(offset) },
      body,
    });
  const finish = (size: number, sha: string) =>
    fetch(`${base}/api/replica/segments/cam9/${name}/finish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'x-live-size': String(size), 'x-content-sha256': sha, 'x-segment-duration-ms': '4000' },
    });

  beforeAll(async () => {
    const src = path.join(b.dir, 'src.mp4');
    await makeFragmented(src, 4);
    file = readFileSync(src);
    b.writeConfig([], `receive:\n  tokens:\n    - { id: sender, token: ${TOKEN}, cameraPrefix: "rx-" }`);
    await b.start('board');
    base = `http://127.0.0.1:${b.boardPort}`;
    await waitFor('board up', async () => (await fetch(`${base}/api/health`).catch(() => undefined))?.ok, 30_000);
  }, 60_000);

  afterAll(async () => {
    await b.stopApps().catch(() => {});
    await b.cleanup();
  });

  it('appends in order, retries are idempotent, holes and cut boxes are refused; finish stores and indexes it', async () => {
    const ends = boxEnds(file);
    const init = ends[1]!; // ftyp + moov
    const mid = ends[Math.floor(ends.length / 2) | 1]!; // after an mdat
    // without the token: 401, nothing written
    expect((await append(0, file.subarray(0, init), 'wrong-token-0123456789')).status).toBe(401);
    expect(existsSync(live)).toBe(false);
    // fragments before the moov: refused
    expect((await append(0, file.subarray(init, mid))).status).toBe(422);
    // a hole: 409 with what is held
    const hole = await append(init, file.subarray(init, mid));
    expect(hole.status).toBe(409);
    expect(((await hole.json()) as { held: number }).held).toBe(0);
    // the init, then the same again (a retry)
    for (let i = 0; i < 2; i++) {
      const r = await append(0, file.subarray(0, init));
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ held: init, final: false });
    }
    // a cut box: refused, the copy unchanged
    expect((await append(init, file.subarray(init, mid - 10))).status).toBe(422);
    expect(readFileSync(live).length).toBe(init);
    // fragments up to mid, then a retry overlapping what is held plus more
    expect(await (await append(init, file.subarray(init, mid))).json()).toMatchObject({ held: mid });
    const r = await append(init, file.subarray(init));
    expect(await r.json()).toMatchObject({ held: file.length });
    expect(readFileSync(live).equals(file)).toBe(true);
    // the live copy plays as it is
    expect((await ffprobe(live)).ok).toBe(true);
    // finish: more than is held → 409 (send the rest first); the right size and sha256 store it
    const sha = createHash('sha256').update(file).digest('hex');
    expect((await finish(file.length + 100, sha)).status).toBe(409);
    expect((await finish(file.length, sha)).status).toBe(201);
    expect(existsSync(stored)).toBe(true);
    expect(existsSync(live)).toBe(false);
    const rel = path.relative(b.recordingsDir, stored);
    expect(await new SegmentIndex(b.redis, b.prefix).get('rx-cam9', rel)).toBeTruthy();
    // again: already; appends now say final
    expect((await finish(file.length, sha)).status).toBe(200);
    expect(await (await append(0, file.subarray(0, init))).json()).toMatchObject({ final: true });
    // the whole-segment path finds it there
    const head = await fetch(`${base}/api/replica/segments/cam9/${name}`, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-content-sha256')).toBe(sha);
  }, 60_000);

  it('a live copy whose sender fell silent is stored as it is; the whole file replaces it later', async () => {
    const start2 = new Date(start.getTime() + 10_000);
    const name2 = segmentFileName('cam9', start2);
    const stored2 = path.join(b.recordingsDir, 'rx-cam9', dayFolderName(start2), segmentFileName('rx-cam9', start2));
    const ends = boxEnds(file);
    const part = ends[Math.floor(ends.length / 2) | 1]!;
    const r = await fetch(`${base}/api/replica/segments/cam9/${name2}/live`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'x-live-offset': '0', 'x-segment-duration-ms': '2000' },
      body: file.subarray(0, part),
    });
    expect(r.status).toBe(200);
    const t0 = Date.now();
    await waitFor('stored after 20 s of silence', () => existsSync(stored2), 40_000, 250);
    console.log(`[measure] live copy stored ${((Date.now() - t0) / 1000).toFixed(1)} s after its sender fell silent`);
    expect(readFileSync(stored2).length).toBe(part);
    // the sender comes back with the whole file: it replaces the shorter copy it starts with
    const sha = createHash('sha256').update(file).digest('hex');
    const put = await fetch(`${base}/api/replica/segments/cam9/${name2}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'x-content-sha256': sha, 'x-segment-start-ms': String(start2.getTime()), 'x-segment-duration-ms': '4000' },
      body: file,
    });
    expect(put.status).toBe(201);
    expect(readFileSync(stored2).equals(file)).toBe(true);
    // a different file under that name is still refused
    const other = Buffer.from(file);
    other.writeUInt8(other.readUInt8(other.length - 5) ^ 0xff, other.length - 5);
    const put2 = await fetch(`${base}/api/replica/segments/cam9/${name2}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'x-content-sha256': createHash('sha256').update(other).digest('hex'), 'x-segment-start-ms': String(start2.getTime()) },
      body: other,
    });
    expect(put2.status).toBe(409);
  }, 60_000);
});
