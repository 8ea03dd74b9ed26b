// MSB-first bit reading over a byte range (H.264 headers, AAC raw data blocks).
import { Mp4FormatError } from './errors.js';

/** Thrown when a read passes the end of the range: callers turn it into a clear error (or a "no"). */
export class BitstreamEnd extends Error {
  override readonly name = 'BitstreamEnd';
  constructor() {
    super('bitstream ended');
  }
}

export class BitReader {
  /** Current position in bits from the start of the underlying array. */
  pos: number;
  private readonly endBit: number;

  constructor(
    private readonly b: Uint8Array,
    start = 0,
    end = b.length,
  ) {
    this.pos = start * 8;
    this.endBit = end * 8;
  }

  bitsLeft(): number {
    return this.endBit - this.pos;
  }

  u1(): number {
    if (this.pos >= this.endBit) throw new BitstreamEnd();
    const v = (this.b[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }

  /** Reads n bits (0..32) as an unsigned number. */
  u(n: number): number {
    if (n === 0) return 0;
    if (this.pos + n > this.endBit) throw new BitstreamEnd();
    let v = 0;
    let left = n;
    while (left > 0) {
      const bitInByte = this.pos & 7;
      const take = Math.min(8 - bitInByte, left);
      const byte = this.b[this.pos >> 3]!;
      const bits = (byte >> (8 - bitInByte - take)) & ((1 << take) - 1);
      v = v * (1 << take) + bits;
      this.pos += take;
      left -= take;
    }
    return v;
  }

  skip(n: number): void {
    if (this.pos + n > this.endBit) throw new BitstreamEnd();
    this.pos += n;
  }

  byteAlign(): void {
    this.pos = (this.pos + 7) & ~7;
    if (this.pos > this.endBit) throw new BitstreamEnd();
  }

  /** Exp-Golomb unsigned (ue(v)); throws on more than 31 leading zeros. */
  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > 31) throw new Mp4FormatError('an exp-Golomb code (ue(v)) with more than 31 leading zeros');
    }
    return zeros === 0 ? 0 : (1 << zeros) - 1 + this.u(zeros);
  }

  /** Exp-Golomb signed (se(v)). */
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/**
 * Removes H.264 emulation prevention bytes (00 00 03 → 00 00) from b[start, end), keeping at most
 * `maxOut` output bytes (headers only need the first few dozen bytes of a NAL unit).
 */
export function unescapeRbsp(b: Uint8Array, start: number, end: number, maxOut = Infinity): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(end - start, maxOut)));
  let o = 0;
  let zeros = 0;
  for (let i = start; i < end && o < out.length; i++) {
    const c = b[i]!;
    if (zeros >= 2 && c === 3) {
      zeros = 0;
      continue;
    }
    out[o++] = c;
    zeros = c === 0 ? zeros + 1 : 0;
  }
  return o === out.length ? out : out.subarray(0, o);
}
