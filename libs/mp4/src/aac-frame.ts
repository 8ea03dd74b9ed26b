// Finds where a raw AAC-LC frame (an MP4 audio sample: raw_data_block, no ADTS header) ends, by
// parsing its syntax down to the Huffman codewords. Also a strong validity check: random or video
// bytes almost never parse as a complete frame with the stream's element layout.
import { BitReader, BitstreamEnd } from './bit-reader.js';
import { bandOffsets, CODEBOOKS, SAMPLE_RATES, type CanonicalCodebook } from './aac-tables.js';
import { Mp4FormatError } from './errors.js';
import type { AudioFrameParser } from './mdat-scan.js';

export interface AudioSpecificConfig {
  objectType: number;
  samplingIndex: number;
  sampleRate: number;
  channelConfig: number;
  /** Samples per frame (1024, or 960 with frameLengthFlag). */
  frameLength: number;
}

export function parseAudioSpecificConfig(b: Uint8Array): AudioSpecificConfig {
  try {
    return ascFields(new BitReader(b));
  } catch (e) {
    if (e instanceof BitstreamEnd) throw new Mp4FormatError(`AudioSpecificConfig (${b.length} byte${b.length === 1 ? '' : 's'}) ends inside its fields`);
    throw e;
  }
}

function ascFields(r: BitReader): AudioSpecificConfig {
  const aot = () => {
    const t = r.u(5);
    return t === 31 ? 32 + r.u(6) : t;
  };
  const rate = () => {
    const i = r.u(4);
    return i === 15 ? { index: -1, rate: r.u(24) } : { index: i, rate: SAMPLE_RATES[i] ?? 0 };
  };
  let objectType = aot();
  const f = rate();
  const channelConfig = r.u(4);
  if (objectType === 5 || objectType === 29) {
    rate(); // extension (SBR) sampling frequency; the core uses f
    objectType = aot();
  }
  let frameLength = 1024;
  if ([1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23].includes(objectType)) frameLength = r.u1() ? 960 : 1024;
  return { objectType, samplingIndex: f.index, sampleRate: f.rate, channelConfig, frameLength };
}

const ID_SCE = 0;
const ID_CPE = 1;
const ID_CCE = 2;
const ID_LFE = 3;
const ID_DSE = 4;
const ID_PCE = 5;
const ID_FIL = 6;
const ID_END = 7;

const EIGHT_SHORT = 2;
const ZERO_HCB = 0;
const ESC_HCB = 11;
const NOISE_HCB = 13;
const INTENSITY_HCB2 = 14;
const INTENSITY_HCB = 15;

/** Audio channel elements expected per channel configuration (SCE/CPE/LFE order). */
const ELEMENTS_BY_CONFIG: Record<number, number[]> = {
  1: [ID_SCE],
  2: [ID_CPE],
  3: [ID_SCE, ID_CPE],
  4: [ID_SCE, ID_CPE, ID_SCE],
  5: [ID_SCE, ID_CPE, ID_CPE],
  6: [ID_SCE, ID_CPE, ID_CPE, ID_LFE],
  7: [ID_SCE, ID_CPE, ID_CPE, ID_CPE, ID_LFE],
};

class InvalidFrame extends Error {}

/** Canonical Huffman decoding (codes assigned in length order, consecutive within a length). */
class Huffman {
  private readonly first: Int32Array;
  private readonly count: Int32Array;
  private readonly offset: Int32Array;
  private readonly symbols: Int32Array;

  constructor(cb: CanonicalCodebook) {
    const n = cb.counts.length;
    this.first = new Int32Array(n + 1);
    this.count = new Int32Array(n + 1);
    this.offset = new Int32Array(n + 1);
    this.symbols = Int32Array.from(cb.symbols);
    let code = 0;
    let off = 0;
    for (let len = 1; len <= n; len++) {
      const c = cb.counts[len - 1]!;
      this.first[len] = code;
      this.count[len] = c;
      this.offset[len] = off;
      code = (code + c) << 1;
      off += c;
    }
  }

  decode(r: BitReader): number {
    let code = 0;
    for (let len = 1; len < this.first.length; len++) {
      code = (code << 1) | r.u1();
      const i = code - this.first[len]!;
      if (i < this.count[len]!) return this.symbols[this.offset[len]! + i]!;
    }
    throw new InvalidFrame('no codeword');
  }
}

interface SpectralBook {
  huffman: Huffman;
  /** Values per codeword (4 for books 1-4, 2 otherwise). */
  dim: number;
  /** Sign bits that follow each codeword (unsigned books: one per nonzero value). */
  signBits: Uint8Array;
  /** Escape sequences that follow each codeword (book 11: one per value equal to 16). */
  escapes: Uint8Array;
}

let books: { sf: Huffman; spectral: SpectralBook[] } | undefined;

function codebooks(): { sf: Huffman; spectral: SpectralBook[] } {
  if (books) return books;
  const lav = [0, 1, 1, 2, 2, 4, 4, 7, 7, 12, 12, 16];
  const spectral: SpectralBook[] = [];
  for (let n = 1; n <= 11; n++) {
    const signed = n === 1 || n === 2 || n === 5 || n === 6;
    const dim = n <= 4 ? 4 : 2;
    const mod = signed ? 2 * lav[n]! + 1 : lav[n]! + 1;
    const size = mod ** dim;
    const signBits = new Uint8Array(size);
    const escapes = new Uint8Array(size);
    for (let idx = 0; idx < size; idx++) {
      let rest = idx;
      for (let k = 0; k < dim; k++) {
        const v = rest % mod;
        rest = Math.floor(rest / mod);
        if (!signed && v !== 0) signBits[idx]!++;
        if (n === ESC_HCB && v === 16) escapes[idx]!++;
      }
    }
    spectral[n] = { huffman: new Huffman(CODEBOOKS[n]!), dim, signBits, escapes };
  }
  books = { sf: new Huffman(CODEBOOKS[0]!), spectral };
  return books;
}

interface IcsInfo {
  windowSequence: number;
  maxSfb: number;
  /** Window group lengths (1 group for long windows). */
  groups: number[];
  offsets: Uint16Array;
}

/** Parses raw AAC-LC frames for one stream configuration. */
export class AacFrameParser implements AudioFrameParser {
  readonly maxFrameBytes: number;
  private readonly longOffsets: Uint16Array;
  private readonly shortOffsets: Uint16Array;
  private readonly expected: number[];

  constructor(readonly asc: AudioSpecificConfig) {
    if (asc.objectType !== 2) throw new Error(`AAC object type ${asc.objectType} (only AAC-LC, type 2, is supported)`);
    if (asc.frameLength !== 1024) throw new Error('960-sample AAC frames are not supported');
    if (asc.samplingIndex < 0 || asc.samplingIndex > 12) throw new Error('explicit AAC sampling frequency is not supported');
    const expected = ELEMENTS_BY_CONFIG[asc.channelConfig];
    if (!expected) throw new Error(`AAC channel configuration ${asc.channelConfig} (program config element) is not supported`);
    this.expected = expected;
    this.longOffsets = bandOffsets(asc.samplingIndex, false);
    this.shortOffsets = bandOffsets(asc.samplingIndex, true);
    // 6144 bits per channel is the decoder input buffer size: no frame can be larger.
    this.maxFrameBytes = 768 * Math.max(1, asc.channelConfig === 7 ? 8 : asc.channelConfig === 6 ? 6 : asc.channelConfig) + 64;
    codebooks();
  }

  frameLength(b: Uint8Array, start: number, end: number): number {
    const r = new BitReader(b, start, Math.min(end, start + this.maxFrameBytes));
    try {
      let element = 0;
      for (;;) {
        const id = r.u(3);
        if (id === ID_END) break;
        switch (id) {
          case ID_SCE:
          case ID_LFE:
          case ID_CPE: {
            if (this.expected[element++] !== id) return -1;
            r.skip(4); // element_instance_tag
            if (id === ID_CPE) this.channelPair(r);
            else this.channelStream(r, undefined);
            break;
          }
          case ID_DSE: {
            r.skip(4);
            const align = r.u1();
            let count = r.u(8);
            if (count === 255) count += r.u(8);
            if (align) r.byteAlign();
            r.skip(count * 8);
            break;
          }
          case ID_FIL: {
            let count = r.u(4);
            if (count === 15) count += r.u(8) - 1;
            r.skip(count * 8);
            break;
          }
          case ID_CCE:
          case ID_PCE:
          default:
            return -1;
        }
      }
      if (element !== this.expected.length) return -1;
      r.byteAlign();
      return (r.pos >> 3) - start;
    } catch (e) {
      if (e instanceof BitstreamEnd || e instanceof InvalidFrame || e instanceof RangeError) return -1;
      throw e;
    }
  }

  private icsInfo(r: BitReader): IcsInfo {
    if (r.u1() !== 0) throw new InvalidFrame('ics_reserved_bit');
    const windowSequence = r.u(2);
    r.skip(1); // window_shape
    if (windowSequence === EIGHT_SHORT) {
      const maxSfb = r.u(4);
      const grouping = r.u(7);
      const groups = [1];
      for (let i = 6; i >= 0; i--) {
        if (grouping & (1 << i)) groups[groups.length - 1]!++;
        else groups.push(1);
      }
      if (maxSfb > this.shortOffsets.length - 1) throw new InvalidFrame('max_sfb');
      return { windowSequence, maxSfb, groups, offsets: this.shortOffsets };
    }
    const maxSfb = r.u(6);
    if (r.u1()) throw new InvalidFrame('prediction is not allowed in AAC-LC');
    if (maxSfb > this.longOffsets.length - 1) throw new InvalidFrame('max_sfb');
    return { windowSequence, maxSfb, groups: [1], offsets: this.longOffsets };
  }

  private channelPair(r: BitReader): void {
    const common = r.u1();
    let info: IcsInfo | undefined;
    if (common) {
      info = this.icsInfo(r);
      const ms = r.u(2);
      if (ms === 3) throw new InvalidFrame('ms_mask_present reserved');
      if (ms === 1) r.skip(info.groups.length * info.maxSfb);
    }
    this.channelStream(r, info);
    this.channelStream(r, info);
  }

  private channelStream(r: BitReader, common: IcsInfo | undefined): void {
    const globalGain = r.u(8);
    const info = common ?? this.icsInfo(r);
    const short = info.windowSequence === EIGHT_SHORT;
    const { sf, spectral } = codebooks();

    // section_data
    const cbs = new Uint8Array(info.groups.length * info.maxSfb);
    const bits = short ? 3 : 5;
    const esc = (1 << bits) - 1;
    for (let g = 0; g < info.groups.length; g++) {
      let k = 0;
      while (k < info.maxSfb) {
        const cb = r.u(4);
        if (cb === 12) throw new InvalidFrame('reserved codebook');
        let len = 0;
        let inc: number;
        while ((inc = r.u(bits)) === esc) len += esc;
        len += inc;
        if (len === 0 || k + len > info.maxSfb) throw new InvalidFrame('section length');
        cbs.fill(cb, g * info.maxSfb + k, g * info.maxSfb + k + len);
        k += len;
      }
    }

    // scale_factor_data
    let offset = globalGain;
    let noiseFirst = true;
    for (let i = 0; i < cbs.length; i++) {
      const cb = cbs[i]!;
      if (cb === ZERO_HCB) continue;
      if (cb === INTENSITY_HCB || cb === INTENSITY_HCB2) {
        sf.decode(r);
      } else if (cb === NOISE_HCB) {
        if (noiseFirst) {
          r.skip(9);
          noiseFirst = false;
        } else sf.decode(r);
      } else {
        offset += sf.decode(r) - 60;
        if (offset < 0 || offset > 255) throw new InvalidFrame('scalefactor out of range');
      }
    }

    // pulse_data
    if (r.u1()) {
      if (short) throw new InvalidFrame('pulse data in short windows');
      const n = r.u(2) + 1;
      if (r.u(6) > info.maxSfb) throw new InvalidFrame('pulse_start_sfb');
      r.skip(n * 9);
    }
    // tns_data
    if (r.u1()) {
      const windows = short ? 8 : 1;
      for (let w = 0; w < windows; w++) {
        const nFilt = r.u(short ? 1 : 2);
        if (!nFilt) continue;
        const coefRes = r.u1();
        for (let f = 0; f < nFilt; f++) {
          r.skip(short ? 4 : 6); // length
          const order = r.u(short ? 3 : 5);
          if (order > (short ? 7 : 12)) throw new InvalidFrame('tns order');
          if (order) {
            r.skip(1); // direction
            const compress = r.u1();
            r.skip(order * (coefRes + 3 - compress));
          }
        }
      }
    }
    // gain_control_data (AAC SSR only)
    if (r.u1()) throw new InvalidFrame('gain control in AAC-LC');

    // spectral_data
    for (let g = 0; g < info.groups.length; g++) {
      const groupLen = info.groups[g]!;
      for (let s = 0; s < info.maxSfb; s++) {
        const cb = cbs[g * info.maxSfb + s]!;
        if (cb === ZERO_HCB || cb >= NOISE_HCB) continue;
        const book = spectral[cb]!;
        const width = (info.offsets[s + 1]! - info.offsets[s]!) * groupLen;
        for (let k = 0; k < width; k += book.dim) {
          const idx = book.huffman.decode(r);
          const signs = book.signBits[idx]!;
          if (signs) r.skip(signs);
          for (let e = book.escapes[idx]!; e > 0; e--) {
            let n = 0;
            while (r.u1()) if (++n > 8) throw new InvalidFrame('escape too long');
            r.skip(n + 4);
          }
        }
      }
    }
  }
}

/** An AAC-LC frame parser for an AudioSpecificConfig, or the reason there is none. */
export function aacParserFor(asc: AudioSpecificConfig | undefined): { parser?: AacFrameParser; reason?: string } {
  if (!asc) return { reason: 'the reference audio track has no AAC AudioSpecificConfig' };
  try {
    return { parser: new AacFrameParser(asc) };
  } catch (e) {
    return { reason: (e as Error).message };
  }
}
