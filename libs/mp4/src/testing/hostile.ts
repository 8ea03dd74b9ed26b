// Hostile MP4 inputs for tests and measurements (not used by the library): the kinds of file the
// security review (issue 11, finding 7) fed the parser, built from the small real files of the fuzz
// corpus (libs/mp4/fuzz/corpus) so that everything around the hostile part is genuine ffmpeg output.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { childBoxes, type ChildBox } from '../box-reader.js';
import { box, ByteWriter, fullBox } from '../box-writer.js';

export const CORPUS_DIR = path.join(import.meta.dirname, '../../fuzz/corpus');

export interface HostileCase {
  name: string;
  what: string;
  bytes: Buffer;
}

export const corpusFile = (name: string): Buffer => readFileSync(path.join(CORPUS_DIR, name));

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBuffer(n: number, rand: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** The boxes along a path of types from the top of `b` (first match at each level). */
export function boxPath(b: Buffer, types: readonly string[], nth = 0): ChildBox {
  let start = 0;
  let end = b.length;
  let cur: ChildBox | undefined;
  types.forEach((t, depth) => {
    let seen = 0;
    cur = undefined;
    for (const c of childBoxes(b, start, end)) {
      if (c.type === t && (depth > 0 || seen++ === nth)) {
        cur = c;
        break;
      }
    }
    if (!cur) throw new Error(`no ${types.slice(0, depth + 1).join('/')} in the seed`);
    start = cur.start;
    end = cur.end;
  });
  return cur!;
}

const top = (b: Buffer, type: string) => boxPath(b, [type]);
const slice = (b: Buffer, c: ChildBox) => b.subarray(c.offset, c.end);

/** A moof with one traf (track 1, default-base-is-moof) holding `trunPayload`, and an mdat of `mdatBytes`. */
function fragment(tfhdPayload: Buffer, trunPayload: Buffer, mdatBytes: number): Buffer {
  return Buffer.concat([
    box('moof', fullBox('mfhd', 0, 0, new ByteWriter().u32(1).toBuffer()), box('traf', box('tfhd', tfhdPayload), fullBox('tfdt', 0, 0, new ByteWriter().u32(0).toBuffer()), box('trun', trunPayload))),
    box('mdat', Buffer.alloc(mdatBytes, 0x5a)),
  ]);
}

/** Nested boxes `depth` deep: each a `type` box holding the next, the innermost empty. */
function nested(type: string, depth: number): Buffer {
  const b = Buffer.alloc(depth * 8);
  for (let i = 0; i < depth; i++) {
    b.writeUInt32BE(b.length - i * 8, i * 8);
    b.write(type, i * 8 + 4, 'latin1');
  }
  return b;
}

export function hostileCases(): HostileCase[] {
  const fragV = corpusFile('frag-v.mp4');
  const fragAv = corpusFile('frag-av.mp4');
  const faststart = corpusFile('faststart-av.mp4');
  const headV = fragV.subarray(0, top(fragV, 'moov').end); // ftyp + moov (mvex) of a real video-only fragmented file
  const cases: HostileCase[] = [];

  // 1. ~2.4 KB: real ftyp+moov, then a moof whose trun claims 9 999 999 samples (no per-sample fields,
  //    size from the tfhd default) over a 1.5 KB mdat.
  {
    const tfhd = new ByteWriter().u8(0).u24(0x020000 | 0x10).u32(1).u32(100).toBuffer(); // default-base-is-moof, default size 100
    const trun = (dataOffset: number) => new ByteWriter().u8(0).u24(0x000001).u32(9_999_999).i32(dataOffset).toBuffer();
    const moofSize = fragment(tfhd, trun(0), 0).length - 8;
    const bytes = Buffer.concat([headV, fragment(tfhd, trun(moofSize + 8), 2436 - headV.length - moofSize - 8)]);
    cases.push({ name: 'trun-10m-2kb', what: `a ${bytes.length}-byte file whose trun claims 9 999 999 samples`, bytes });
  }

  // 2. One 4-byte overwrite of a real trun: the low 16 flag bits and the high half of sample_count
  //    become 0x0001 / 0x0098, i.e. "data offset only" and ~9.96 M samples (sizes from the tfhd default).
  {
    const bytes = Buffer.from(fragAv);
    const trun = boxPath(bytes, ['moof', 'traf', 'trun']);
    bytes.writeUInt32BE(0x00010098, trun.start + 2);
    cases.push({ name: 'trun-flags-overwrite', what: `frag-av.mp4 with one 4-byte overwrite of its first trun (flags 0x${bytes.readUInt32BE(trun.start).toString(16)}, ${bytes.readUInt32BE(trun.start + 4)} samples)`, bytes });
  }

  // 3. The same file with sample_count alone set to 0x7fffffff (per-sample fields kept).
  {
    const bytes = Buffer.from(fragAv);
    const trun = boxPath(bytes, ['moof', 'traf', 'trun']);
    bytes.writeUInt32BE(0x7fffffff, trun.start + 4);
    cases.push({ name: 'trun-count-overwrite', what: 'frag-av.mp4 with its first trun claiming 2^31-1 samples', bytes });
  }

  // 4. 200 000 nested boxes, in the moov of a plain file and in the moof of a fragmented one.
  {
    const moov = box('moov', box('mvhd', Buffer.alloc(100)), nested('trak', 200_000));
    const bytes = Buffer.concat([slice(faststart, top(faststart, 'ftyp')), moov, box('mdat', Buffer.alloc(64))]);
    cases.push({ name: 'nested-200k-moov', what: `ftyp + a moov holding 200 000 nested trak boxes (${bytes.length} bytes)`, bytes });
    const moof = box('moof', fullBox('mfhd', 0, 0, new ByteWriter().u32(1).toBuffer()), nested('traf', 200_000));
    const frag = Buffer.concat([headV, moof, box('mdat', Buffer.alloc(64))]);
    cases.push({ name: 'nested-200k-moof', what: `ftyp + moov + a moof holding 200 000 nested traf boxes (${frag.length} bytes)`, bytes: frag });
  }

  // 5. Correct box framing, random contents: a plain file's moov tree with random leaf payloads, and a
  //    real fragmented header followed by a moof whose tfhd/tfdt/trun are random.
  {
    const r = prng(11);
    const leaf = (type: string, n: number) => box(type, randomBuffer(n, r));
    const moov = box(
      'moov',
      leaf('mvhd', 100),
      box(
        'trak',
        leaf('tkhd', 84),
        box('mdia', leaf('mdhd', 24), leaf('hdlr', 33), box('minf', leaf('vmhd', 12), box('dinf', leaf('dref', 16)), box('stbl', leaf('stsd', 150), leaf('stts', 16), leaf('stsc', 16), leaf('stsz', 400), leaf('stco', 16)))),
      ),
    );
    const bytes = Buffer.concat([slice(faststart, top(faststart, 'ftyp')), moov, box('mdat', randomBuffer(20_000, r))]);
    cases.push({ name: 'random-moov-contents', what: 'ftyp + a moov with correct framing and random leaf payloads + mdat', bytes });
    const moof = box('moof', leaf('mfhd', 8), box('traf', leaf('tfhd', 16), leaf('tfdt', 12), leaf('trun', 100)));
    const frag = Buffer.concat([headV, moof, box('mdat', randomBuffer(2000, r)), moof, box('mdat', randomBuffer(2000, r))]);
    cases.push({ name: 'random-moof-contents', what: 'real ftyp + moov, then moof/mdat pairs with correct framing and random tfhd/tfdt/trun', bytes: frag });
  }

  // 6. Truncated optional fields: a trun whose flags announce a data offset and first-sample flags but
  //    whose payload ends after the data offset; a tfhd announcing a base data offset it does not hold.
  {
    const tfhd = new ByteWriter().u8(0).u24(0x020000 | 0x10).u32(1).u32(100).toBuffer();
    const trun = new ByteWriter().u8(0).u24(0x000005).u32(0).i32(0).toBuffer();
    cases.push({ name: 'trun-optional-cut', what: 'a trun with flags 0x5 (data offset, first-sample flags) whose payload ends after the data offset', bytes: Buffer.concat([headV, fragment(tfhd, trun, 500)]) });
    const shortTfhd = new ByteWriter().u8(0).u24(0x000001).u32(1).toBuffer();
    const trun2 = new ByteWriter().u8(0).u24(0x000200).u32(1).u32(10).toBuffer();
    cases.push({ name: 'tfhd-optional-cut', what: 'a tfhd with flag 0x1 (base data offset) and no room for it', bytes: Buffer.concat([headV, fragment(shortTfhd, trun2, 500)]) });
  }

  // 7. Broken parameter sets in the avcC of a real faststart file: the PPS cut to its NAL header, the SPS to 2 bytes.
  {
    const avcC = (b: Buffer) => boxPath(b, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd']);
    for (const which of ['pps', 'sps'] as const) {
      const bytes = Buffer.from(faststart);
      const stsd = avcC(bytes);
      const at = bytes.indexOf('avcC', stsd.start, 'latin1') + 4; // avcC payload
      const spsLen = bytes.readUInt16BE(at + 6);
      if (which === 'sps') bytes.writeUInt16BE(2, at + 6);
      else bytes.writeUInt16BE(1, at + 6 + 2 + spsLen + 1);
      cases.push({ name: `broken-${which}`, what: `faststart-av.mp4 whose avcC ${which.toUpperCase()} is cut to ${which === 'sps' ? 2 : 1} byte(s)`, bytes });
    }
  }
  return cases;
}
