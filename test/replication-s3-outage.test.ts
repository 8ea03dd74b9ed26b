// Issue 13: a bucket (s3rver) down for 60 s while the camera records 5 s segments, to a plain and an
// encrypted target (hideNames). Recording goes on; when the bucket is back the backlog goes up
// newest first, every segment exactly once, the chunks of segments whose whole copy is there are
// deleted (joined); the encrypted prefix holds no plaintext MP4 box and no camera id in its names.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '@tapo/replica-crypto';
import { listSegmentFiles } from '@tapo/storage';
import { S3RVER_KEYS, startS3rver } from './helpers/s3rver.js';
import { sleep, waitFor } from './helpers/env.js';
import { TestStack } from './helpers/stack.js';

const BUCKET = 'offsite';

/**
 * Where a plaintext MP4 box shows in `buf` (-1: nowhere): an ftyp with an ISO brand, or a moof whose
 * first child is its mfhd (4 random bytes matching a box type alone would be a 1-in-4-billion event
 * per position: too likely over megabytes of ciphertext).
 */
function plainMp4At(buf: Buffer): number {
  const ftyp = buf.indexOf('ftypiso');
  if (ftyp >= 0) return ftyp;
  for (let at = buf.indexOf('mfhd'); at >= 0; at = buf.indexOf('mfhd', at + 1)) {
    if (at >= 8 && buf.toString('latin1', at - 8, at - 4) === 'moof') return at - 8;
  }
  return -1;
}
const PLAIN = 'plain/';
const SEALED = 'sealed/';

describe('s3 target down 60 s, then back', () => {
  const a = new TestStack('s3-outage');
  const env = { ...S3RVER_KEYS, REPLICA_KEY: generateKeyText() };
  let s3: Awaited<ReturnType<typeof startS3rver>>;

  beforeAll(async () => {
    s3 = await startS3rver(a.dir, BUCKET);
    await a.startCamera();
    a.writeConfig(
      [{ id: 'cam1', segmentSeconds: 5 }],
      `replicas:
  - { id: plain, type: s3, endpoint: "${s3.endpoint}", bucket: ${BUCKET}, prefix: ${PLAIN}, accessKeyId: "\${S3_KEY_ID}", secretAccessKey: "\${S3_SECRET}" }
  - { id: sealed, type: s3, endpoint: "${s3.endpoint}", bucket: ${BUCKET}, prefix: ${SEALED}, accessKeyId: "\${S3_KEY_ID}", secretAccessKey: "\${S3_SECRET}", encryption: { key: "\${REPLICA_KEY}", hideNames: true } }`,
    );
    await a.start('scheduler', env);
    await a.start('worker', env);
  }, 60_000);

  afterAll(async () => {
    await a.stopApps().catch(() => {});
    await a.cleanup();
    await s3?.close().catch(() => {});
  });

  it('backlog newest first, nothing duplicated, chunks joined, no plaintext in the encrypted prefix', async () => {
    const wholeKeys = async (prefix: string) => (await s3.list(prefix)).map((o) => o.key).filter((k) => !k.includes('.live/'));
    await waitFor('2 segments whole in both prefixes', async () => (await wholeKeys(PLAIN)).length >= 2 && (await wholeKeys(SEALED)).length >= 2, 60_000, 250);
    const port = s3.port;
    await s3.close();
    const downAt = Date.now();
    const before = new Set((await listSegmentFiles(a.recordingsDir, 'cam1')).map((s) => path.basename(s.path)));
    await sleep(60_000);
    const closedWhileDown = (await listSegmentFiles(a.recordingsDir, 'cam1')).map((s) => path.basename(s.path)).filter((n) => !before.has(n)).slice(0, -1);
    expect(closedWhileDown.length).toBeGreaterThanOrEqual(8);
    s3 = await startS3rver(a.dir, BUCKET, { port });
    const backAt = Date.now();
    // the order the whole copies of the outage's segments appear in
    const seen: string[] = [];
    let sealedChunks = 0;
    await waitFor(
      'every segment closed during the outage whole in the plain prefix',
      async () => {
        sealedChunks += (await s3.list(SEALED)).filter((o) => o.key.includes('.live/')).length;
        for (const k of await wholeKeys(PLAIN)) {
          const n = path.basename(k);
          if (closedWhileDown.includes(n) && !seen.includes(n)) seen.push(n);
        }
        return closedWhileDown.every((n) => seen.includes(n));
      },
      120_000,
      100,
    );
    console.log(`[measure] s3 outage: ${closedWhileDown.length} segments closed in ${((backAt - downAt) / 1000).toFixed(0)} s down, all whole ${((Date.now() - backAt) / 1000).toFixed(1)} s after the bucket was back; order: ${seen.map((n) => closedWhileDown.indexOf(n)).join(' ')}`);
    // newest first: the first to arrive is among the newest three
    expect(closedWhileDown.indexOf(seen[0]!)).toBeGreaterThanOrEqual(closedWhileDown.length - 3);
    await waitFor('the sealed prefix too', async () => (await wholeKeys(SEALED)).length >= (await wholeKeys(PLAIN)).length - 1, 60_000, 250);

    // every segment exactly once; chunks only of segments without a whole copy (the one being recorded)
    const plain = (await s3.list(PLAIN)).map((o) => o.key);
    const whole = plain.filter((k) => !k.includes('.live/'));
    expect(new Set(whole.map((k) => path.basename(k))).size).toBe(whole.length);
    let orphans: string[] = [];
    await waitFor('chunks of whole segments deleted', async () => {
      const keys = (await s3.list(PLAIN)).map((o) => o.key);
      const wholeSet = new Set(keys.filter((k) => !k.includes('.live/')));
      orphans = keys.filter((k) => k.includes('.live/') && wholeSet.has(k.slice(0, k.indexOf('.live/'))));
      return orphans.length === 0;
    }, 30_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}: ${orphans.join(', ')}`);
    });

    // the encrypted prefix: ciphertext only, no camera id in any name
    const sealed = await s3.list(SEALED);
    expect(sealed.length).toBeGreaterThan(0);
    expect(sealedChunks, 'live chunks seen in the encrypted prefix').toBeGreaterThan(0);
    for (const o of sealed) {
      expect(o.key).not.toContain('cam1');
      const body = await s3.get(o.key);
      expect(plainMp4At(body), `${o.key} holds plaintext MP4 boxes`).toBe(-1);
    }
  }, 300_000);
});
