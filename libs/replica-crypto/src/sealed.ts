import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ReplicaCryptoError, type ReplicaKey } from './key.js';

/**
 * The sealed format (one object, chunk or segment): a 32-byte header, then
 * records of AES-256-GCM ciphertext + 16-byte tag.
 *
 *   header: "TAPOENC1" | key id (8 bytes) | nonce prefix (8 random bytes) | record size (u32 BE) | 0 (u32)
 *   record i: GCM(dataKey, nonce = prefix | u32 BE (i | last << 31), aad = header | context)
 *
 * Every record but the last holds exactly `recordSize` plaintext bytes; the
 * last (1..recordSize bytes, 0 only for empty data) carries the "last" bit, so
 * a cut object, dropped, swapped or reordered records, a changed header, or an
 * object presented under another name (`context`: e.g. camera/file) fail
 * authentication. Memory: one record per stream.
 */
const MAGIC = Buffer.from('TAPOENC1', 'latin1');
export const HEADER_BYTES = 32;
const TAG_BYTES = 16;
export const DEFAULT_RECORD_BYTES = 64 * 1024;
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const LAST = 0x80000000;

function header(key: ReplicaKey, recordSize: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  Buffer.from(key.id, 'hex').copy(h, 8);
  randomBytes(8).copy(h, 16);
  h.writeUInt32BE(recordSize, 24);
  return h;
}

function nonce(h: Buffer, index: number, last: boolean): Buffer {
  if (index >= LAST) throw new ReplicaCryptoError('sealed object too large (2^31 records)');
  const n = Buffer.alloc(12);
  h.copy(n, 0, 16, 24);
  n.writeUInt32BE((index | (last ? LAST : 0)) >>> 0, 8);
  return n;
}

function aad(h: Buffer, context: string): Buffer {
  return Buffer.concat([h, Buffer.from(context, 'utf8')]);
}

function sealRecord(key: ReplicaKey, h: Buffer, ad: Buffer, index: number, last: boolean, plain: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key.dataKey, nonce(h, index, last));
  c.setAAD(ad);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([body, c.getAuthTag()]);
}

function checkHeader(key: ReplicaKey, h: Buffer, what: string): number {
  if (h.length < HEADER_BYTES || !h.subarray(0, 8).equals(MAGIC)) throw new ReplicaCryptoError(`${what}: not encrypted by tapo-recorder (no TAPOENC1 header)`);
  const id = h.subarray(8, 16).toString('hex');
  if (id !== key.id) throw new ReplicaCryptoError(`${what}: encrypted with another key (key id ${id}; the configured key is ${key.id})`);
  const size = h.readUInt32BE(24);
  if (size < 1 || size > MAX_RECORD_BYTES || h.readUInt32BE(28) !== 0) throw new ReplicaCryptoError(`${what}: damaged header (record size ${size})`);
  return size;
}

function openRecord(key: ReplicaKey, h: Buffer, ad: Buffer, index: number, last: boolean, rec: Buffer, what: string): Buffer {
  if (rec.length < TAG_BYTES) throw new ReplicaCryptoError(`${what}: cut short (record ${index} has ${rec.length} bytes)`);
  const d = createDecipheriv('aes-256-gcm', key.dataKey, nonce(h, index, last));
  d.setAAD(ad);
  d.setAuthTag(rec.subarray(rec.length - TAG_BYTES));
  const out = d.update(rec.subarray(0, rec.length - TAG_BYTES));
  try {
    d.final();
  } catch {
    throw new ReplicaCryptoError(
      last
        ? `${what}: altered, cut short, or stored under another name (record ${index} does not authenticate)`
        : `${what}: altered or records out of order (record ${index} does not authenticate)`,
    );
  }
  return out;
}

/** Seals a whole buffer (a live chunk). */
export function sealBuffer(key: ReplicaKey, context: string, plain: Buffer, recordSize = DEFAULT_RECORD_BYTES): Buffer {
  const h = header(key, recordSize);
  const ad = aad(h, context);
  const parts: Buffer[] = [h];
  let i = 0;
  for (let at = 0; ; i++) {
    const end = Math.min(plain.length, at + recordSize);
    const last = end >= plain.length;
    parts.push(sealRecord(key, h, ad, i, last, plain.subarray(at, end)));
    if (last) break;
    at = end;
  }
  return Buffer.concat(parts);
}

/** Opens what sealBuffer / createSealStream made; throws ReplicaCryptoError naming `what` on any mismatch. */
export function openBuffer(key: ReplicaKey, context: string, sealed: Buffer, what = 'encrypted object'): Buffer {
  const h = sealed.subarray(0, HEADER_BYTES);
  const size = checkHeader(key, h, what);
  const ad = aad(h, context);
  const out: Buffer[] = [];
  const step = size + TAG_BYTES;
  let at = HEADER_BYTES;
  for (let i = 0; ; i++) {
    const last = sealed.length - at <= step;
    out.push(openRecord(key, h, ad, i, last, sealed.subarray(at, Math.min(sealed.length, at + step)), what));
    if (last) break;
    at += step;
  }
  return Buffer.concat(out);
}

/** Size of the sealed form of `plainBytes` bytes. */
export function sealedSize(plainBytes: number, recordSize = DEFAULT_RECORD_BYTES): number {
  const records = Math.max(1, Math.ceil(plainBytes / recordSize));
  return HEADER_BYTES + plainBytes + records * TAG_BYTES;
}

/** A Transform that seals what goes through it (memory: one record). */
export function createSealStream(key: ReplicaKey, context: string, recordSize = DEFAULT_RECORD_BYTES): Transform {
  const h = header(key, recordSize);
  const ad = aad(h, context);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  let started = false;
  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length ? [rest] : [];
    pendingBytes = rest.length;
    return head;
  };
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (!started) {
        started = true;
        this.push(h);
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      // A full record goes out once more data follows it (the last record must carry the last bit).
      while (pendingBytes > recordSize) this.push(sealRecord(key, h, ad, index++, false, take(recordSize)));
      done();
    },
    flush(done: TransformCallback) {
      if (!started) this.push(h);
      this.push(sealRecord(key, h, ad, index++, true, take(pendingBytes)));
      done();
    },
  });
}

/** A Transform that opens a sealed stream; errors (ReplicaCryptoError) name `what`. */
export function createOpenStream(key: ReplicaKey, context: string, what = 'encrypted object'): Transform {
  let buf: Buffer = Buffer.alloc(0);
  let h: Buffer | undefined;
  let ad: Buffer | undefined;
  let step = 0;
  let index = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (!h) {
          if (buf.length < HEADER_BYTES) return done();
          h = Buffer.from(buf.subarray(0, HEADER_BYTES));
          step = checkHeader(key, h, what) + TAG_BYTES;
          ad = aad(h, context);
          buf = buf.subarray(HEADER_BYTES);
        }
        while (buf.length > step) {
          this.push(openRecord(key, h, ad!, index++, false, buf.subarray(0, step), what));
          buf = buf.subarray(step);
        }
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!h) throw new ReplicaCryptoError(`${what}: cut short (${buf.length} bytes, no complete header)`);
        this.push(openRecord(key, h, ad!, index++, true, buf, what));
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}
