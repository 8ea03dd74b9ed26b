// Building boxes in memory (moov, moof): a growable big-endian byte writer and box/fullbox helpers.

/** Growable big-endian byte writer. */
export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
    return this;
  }
  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntBE(v & 0xffffff, this.length, 3);
    this.length += 3;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.length);
    this.length += 4;
    return this;
  }
  u64(v: number): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt(v), this.length);
    this.length += 8;
    return this;
  }
  fourcc(s: string): this {
    if (s.length !== 4) throw new Error(`box type must be 4 characters: ${JSON.stringify(s)}`);
    this.ensure(4);
    this.buf.write(s, this.length, 'latin1');
    this.length += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }
  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** A complete box: 32-bit size (or 64-bit largesize when needed), type, then the parts. */
export function box(type: string, ...parts: Uint8Array[]): Buffer {
  let payload = 0;
  for (const p of parts) payload += p.byteLength;
  const large = payload + 8 > 0xffffffff;
  const w = new ByteWriter(payload + (large ? 16 : 8));
  if (large) w.u32(1).fourcc(type).u64(payload + 16);
  else w.u32(payload + 8).fourcc(type);
  for (const p of parts) w.bytes(p);
  return w.toBuffer();
}

/** A full box: version (8 bits) and flags (24 bits) before the parts. */
export function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Buffer {
  return box(type, new ByteWriter(4).u8(version).u24(flags).toBuffer(), ...parts);
}

/** The header of a box whose payload is written separately (e.g. an mdat streamed from disk). */
export function boxHeader(type: string, payloadBytes: number): Buffer {
  const w = new ByteWriter(16);
  if (payloadBytes + 8 > 0xffffffff) w.u32(1).fourcc(type).u64(payloadBytes + 16);
  else w.u32(payloadBytes + 8).fourcc(type);
  return w.toBuffer();
}
