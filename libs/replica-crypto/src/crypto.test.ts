import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { KEY_PREFIX, ReplicaCryptoError, generateKeyText, parseReplicaKey } from './key.js';
import { HEADER_BYTES, createOpenStream, createSealStream, openBuffer, sealBuffer, sealedSize } from './sealed.js';

const key = parseReplicaKey(generateKeyText());
const other = parseReplicaKey(generateKeyText());
const ctx = 'cam1/2026-12-02/cam1-20261202T100000Z.mp4';

async function through(t: NodeJS.ReadWriteStream, input: Buffer, pieces = 7777): Promise<Buffer> {
  const out: Buffer[] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += pieces) parts.push(input.subarray(i, i + pieces));
  await pipeline(Readable.from(parts), t, new Writable({ write: (c: Buffer, _e, cb) => void (out.push(c), cb()) }));
  return Buffer.concat(out);
}

describe('replica keys', () => {
  it('generates and parses the text form; errors say what is wrong without the key', () => {
    const text = generateKeyText();
    expect(text.startsWith(KEY_PREFIX)).toBe(true);
    expect(text).toHaveLength(KEY_PREFIX.length + 43);
    expect(parseReplicaKey(text).id).toBe(parseReplicaKey(` ${text}\n`).id);
    expect(parseReplicaKey(text).id).toMatch(/^[0-9a-f]{16}$/);
    expect(() => parseReplicaKey('')).toThrow('replica key is empty (recorder keygen prints a new one)');
    expect(() => parseReplicaKey('abc', 'replicas[0].encryption.key')).toThrow('replicas[0].encryption.key must start with "tapo-key-v1:"');
    expect(() => parseReplicaKey(`${KEY_PREFIX}${'A'.repeat(40)}`)).toThrow('holds 30 bytes, expected 32');
    expect(() => parseReplicaKey(`${KEY_PREFIX}${'A'.repeat(42)}!`)).toThrow('characters outside base64url');
    const k = parseReplicaKey(text);
    expect(String(k)).toBe(`[replica key ${k.id}]`);
    expect(JSON.stringify({ k })).not.toContain(text.slice(KEY_PREFIX.length));
  });
  it('camera aliases are stable per key and reveal nothing of the id', () => {
    expect(key.cameraAlias('living-room')).toBe(key.cameraAlias('living-room'));
    expect(key.cameraAlias('living-room')).toMatch(/^c[0-9a-f]{16}$/);
    expect(key.cameraAlias('living-room')).not.toBe(key.cameraAlias('garage'));
    expect(key.cameraAlias('living-room')).not.toBe(other.cameraAlias('living-room'));
  });
});

describe('sealed objects', () => {
  it('round-trips buffers and streams of every size around the record size, with no plaintext left', async () => {
    for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 64, 100]) {
      const plain = Buffer.concat([Buffer.from('....ftypisom....moof'), randomBytes(n)]);
      const sealed = sealBuffer(key, ctx, plain, 16);
      expect(sealed.length).toBe(sealedSize(plain.length, 16));
      expect(sealed.includes('ftyp')).toBe(false);
      expect(sealed.includes('moof')).toBe(false);
      expect(openBuffer(key, ctx, sealed)).toEqual(plain);
      const streamed = await through(createSealStream(key, ctx, 16), plain, 5);
      expect(streamed.length).toBe(sealed.length);
      expect(openBuffer(key, ctx, streamed)).toEqual(plain);
      expect(await through(createOpenStream(key, ctx), streamed, 3)).toEqual(plain);
    }
    expect(openBuffer(key, ctx, sealBuffer(key, ctx, Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
  });

  it('a 20 MB segment streams with the default records', async () => {
    const plain = randomBytes(20 * 1024 * 1024 + 123);
    const sealed = await through(createSealStream(key, ctx), plain, 1 << 20);
    expect(sealed.length).toBe(sealedSize(plain.length));
    expect((await through(createOpenStream(key, ctx), sealed, 300_000)).equals(plain)).toBe(true);
  });

  it('tampering, cutting, reordering, another name or another key: a clear error', async () => {
    const plain = randomBytes(100);
    const sealed = sealBuffer(key, ctx, plain, 16);
    const flip = Buffer.from(sealed);
    flip[HEADER_BYTES + 40]! ^= 1;
    expect(() => openBuffer(key, ctx, flip, 'cam1 segment')).toThrow('cam1 segment: altered or records out of order (record 1 does not authenticate)');
    // Cut at a record boundary: the last record left lacks the last bit.
    expect(() => openBuffer(key, ctx, sealed.subarray(0, HEADER_BYTES + 2 * 32))).toThrow(/altered, cut short, or stored under another name \(record 1/);
    expect(() => openBuffer(key, ctx, sealed.subarray(0, sealed.length - 1))).toThrow(ReplicaCryptoError);
    const swapped = Buffer.concat([sealed.subarray(0, HEADER_BYTES), sealed.subarray(HEADER_BYTES + 32, HEADER_BYTES + 64), sealed.subarray(HEADER_BYTES, HEADER_BYTES + 32), sealed.subarray(HEADER_BYTES + 64)]);
    expect(() => openBuffer(key, ctx, swapped)).toThrow('record 0 does not authenticate');
    expect(() => openBuffer(key, 'cam2/other.mp4', sealed)).toThrow(ReplicaCryptoError);
    expect(() => openBuffer(other, ctx, sealed)).toThrow(`encrypted with another key (key id ${key.id}; the configured key is ${other.id})`);
    expect(() => openBuffer(key, ctx, plain)).toThrow('not encrypted by tapo-recorder (no TAPOENC1 header)');
    const header = Buffer.from(sealed);
    header[20]! ^= 1; // nonce prefix
    expect(() => openBuffer(key, ctx, header)).toThrow('record 0 does not authenticate');
    await expect(through(createOpenStream(key, ctx, 'chunk 3'), flip)).rejects.toThrow('chunk 3: altered or records out of order');
    await expect(through(createOpenStream(other, ctx), sealed)).rejects.toThrow('encrypted with another key');
    await expect(through(createOpenStream(key, ctx), sealed.subarray(0, 10))).rejects.toThrow('cut short (10 bytes, no complete header)');
  });

  it('two seals of the same data differ (random nonce prefix)', () => {
    const plain = Buffer.from('same');
    expect(sealBuffer(key, ctx, plain).equals(sealBuffer(key, ctx, plain))).toBe(false);
  });
});
