// Builders of synthetic H.264 units and AAC frames for unit tests (not used by the library).

/** MSB-first bit writer. */
export class Bits {
  private bits: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }
  ue(v: number): this {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    return this.u(len, 0).u(len + 1, x);
  }
  get length(): number {
    return this.bits.length;
  }
  /** Zero-pads to a byte boundary and returns the bytes. */
  bytes(): number[] {
    const b = [...this.bits];
    while (b.length % 8) b.push(0);
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 8) out.push(parseInt(b.slice(i, i + 8).join(''), 2));
    return out;
  }
  /** rbsp_trailing_bits, then bytes with emulation prevention applied. */
  rbsp(): number[] {
    this.bits.push(1);
    const out: number[] = [];
    let zeros = 0;
    for (const b of this.bytes()) {
      if (zeros >= 2 && b <= 3) {
        out.push(3);
        zeros = 0;
      }
      out.push(b);
      zeros = b === 0 ? zeros + 1 : 0;
    }
    return out;
  }
}

export const WIDTH_MBS = 40;
export const HEIGHT_MBS = 23;

/** Baseline SPS: id 0, log2_max_frame_num 4, POC type 0 with log2_max_poc_lsb 6, 640x368. */
export const sps = () => [0x67, ...new Bits().u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(0).ue(2).ue(1).u(1, 0).ue(WIDTH_MBS - 1).ue(HEIGHT_MBS - 1).u(1, 1).u(1, 1).u(1, 0).u(1, 0).rbsp()];
export const pps = () => [0x68, ...new Bits().ue(0).ue(0).u(1, 0).u(1, 0).ue(0).ue(0).ue(0).u(1, 0).u(2, 0).rbsp()];
export const aud = () => [0x09, 0xf0];
export const sei = () => [0x06, 5, 3, 1, 2, 3, 0x80];

/** A slice NAL unit (IDR type 5 or non-IDR type 1) followed by `fill` payload bytes. */
export function slice(idr: boolean, firstMb: number, frameNum: number, pocLsb: number, fill = 20, refIdc = 2): number[] {
  const b = new Bits().ue(firstMb).ue(idr ? 7 : 5).ue(0).u(4, frameNum);
  if (idr) b.ue(0);
  b.u(6, pocLsb).u(8, 0xaa);
  return [(refIdc << 5) | (idr ? 5 : 1), ...b.rbsp(), ...new Array<number>(fill).fill(0x5a)];
}

/** Length-prefixed NAL units, as in an MP4 sample. */
export function lengthPrefixed(nals: number[][], lengthSize = 4): number[] {
  const out: number[] = [];
  for (const n of nals) {
    for (let i = lengthSize - 1; i >= 0; i--) out.push(Math.floor(n.length / 256 ** i) % 256);
    out.push(...n);
  }
  return out;
}

/**
 * A valid mono AAC-LC raw frame for 8 kHz: one SCE with one scalefactor band of zero spectral values
 * (codebook 1), a data stream element carrying `payload` filler bytes, then END.
 */
export function aacFrame(payload: number): number[] {
  const b = new Bits();
  b.u(3, 0).u(4, 0).u(8, 100); // SCE, tag, global_gain
  b.u(1, 0).u(2, 0).u(1, 0).u(6, 1).u(1, 0); // ics_info: long window, max_sfb 1, no prediction
  b.u(4, 1).u(5, 1); // section: codebook 1 for one band
  b.u(1, 0); // scalefactor delta 0 (codeword '0')
  b.u(1, 0).u(1, 0).u(1, 0); // no pulse, tns, gain control
  b.u(3, 0); // band 0 (12 coefficients) = 3 quads of zeros, codeword '0' each
  if (payload > 0) {
    const count = Math.min(payload, 510);
    b.u(3, 4).u(4, 0).u(1, 0).u(8, Math.min(count, 255));
    if (count >= 255) b.u(8, count - 255);
    for (let i = 0; i < count; i++) b.u(8, (i * 37 + 11) & 0xff);
  }
  b.u(3, 7); // END
  return b.bytes();
}
