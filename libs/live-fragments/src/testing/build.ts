// Builds small ISO BMFF boxes for the unit tests (no files, no ffmpeg).
type Part = Buffer | Uint8Array | number[];

const buf = (p: Part): Buffer => (Buffer.isBuffer(p) ? p : Buffer.from(p));

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
export function zeros(n: number): Buffer {
  return Buffer.alloc(n);
}

export function box(type: string, ...parts: Part[]): Buffer {
  const body = Buffer.concat(parts.map(buf));
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
}

export function fullBox(type: string, version: number, flags: number, ...parts: Part[]): Buffer {
  return box(type, u8(version), Buffer.from([(flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff]), ...parts);
}

export function avcC(profile = 0x64, compat = 0x00, level = 0x28): Buffer {
  // configurationVersion, profile, compatibility, level, lengthSizeMinusOne, 0 SPS, 0 PPS
  return box('avcC', [1, profile, compat, level, 0xff, 0xe0, 0x00]);
}

export function esds(aot = 2): Buffer {
  const asc = [(aot << 3) | 0x05, 0x88]; // AAC, 44100 Hz (index 4), stereo: enough for the codec string
  const dsi = [0x05, asc.length, ...asc];
  const dcd = [0x04, 13 + dsi.length, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...dsi];
  const es = [0x03, 3 + dcd.length + 3, 0x00, 0x02, 0x00, ...dcd, 0x06, 0x01, 0x02];
  return fullBox('esds', 0, 0, es);
}

export function videoEntry(codecBox: Buffer = avcC(), type = 'avc1'): Buffer {
  // 6 reserved + data reference index, then 70 bytes of visual sample entry fields
  return box(type, zeros(6), u16(1), zeros(16), u16(320), u16(240), zeros(50), codecBox);
}

export function audioEntry(codecBox: Buffer = esds()): Buffer {
  return box('mp4a', zeros(6), u16(1), zeros(8), u16(2), u16(16), zeros(4), u32(44100 << 16), codecBox);
}

export function trak(id: number, handler: 'vide' | 'soun', timescale: number, entry: Buffer): Buffer {
  return box(
    'trak',
    fullBox('tkhd', 0, 3, zeros(8), u32(id), zeros(68)),
    box(
      'mdia',
      fullBox('mdhd', 0, 0, zeros(8), u32(timescale), u32(0), zeros(4)),
      fullBox('hdlr', 0, 0, u32(0), Buffer.from(handler), zeros(12), [0]),
      box('minf', box('stbl', fullBox('stsd', 0, 0, u32(1), entry))),
    ),
  );
}

export function trex(id: number, duration = 0, size = 0, flags = 0): Buffer {
  return fullBox('trex', 0, 0, u32(id), u32(1), u32(duration), u32(size), u32(flags));
}

export interface InitSpec {
  video?: Buffer;
  audio?: Buffer | false;
  trex?: Buffer[];
}

/** ftyp + moov: track 1 video (timescale 15360), track 2 audio (44100) unless audio is false. */
export function initSegment(spec: InitSpec = {}): { ftyp: Buffer; moov: Buffer; bytes: Buffer } {
  const ftyp = box('ftyp', Buffer.from('isom'), u32(0x200), Buffer.from('isomiso2avc1mp41'));
  const traks = [trak(1, 'vide', 15360, spec.video ?? videoEntry())];
  if (spec.audio !== false) traks.push(trak(2, 'soun', 44100, spec.audio ?? audioEntry()));
  const moov = box('moov', fullBox('mvhd', 0, 0, zeros(96)), ...traks, box('mvex', ...(spec.trex ?? [trex(1), trex(2)])));
  return { ftyp, moov, bytes: Buffer.concat([ftyp, moov]) };
}

export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
export const KEY_FLAGS = 0x02000000; // depends on nothing, sync
export const NON_KEY_FLAGS = 0x01010000; // depends on others, non-sync

export interface TrafSpec {
  trackId: number;
  decodeTime: number;
  /** Per-sample sizes. */
  sizes: number[];
  /** Per-sample durations (else tfhd default `defaultDuration`). */
  durations?: number[];
  defaultDuration?: number;
  /** tfhd default sample flags (omitted: trex's apply). */
  defaultFlags?: number;
  firstSampleFlags?: number;
  /** Per-sample flags. */
  sampleFlags?: number[];
  tfdtVersion?: 0 | 1;
}

/** A moof (default-base-is-moof, data offsets filled in) and its mdat of zero bytes. */
export function fragment(sequence: number, trafs: TrafSpec[]): Buffer {
  const build = (offsets: number[]) =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32(sequence)),
      ...trafs.map((t, i) => {
        let tf = TFHD_DEFAULT_BASE_IS_MOOF;
        const opt: Buffer[] = [];
        if (t.defaultDuration !== undefined) (tf |= 0x08), opt.push(u32(t.defaultDuration));
        if (t.defaultFlags !== undefined) (tf |= 0x20), opt.push(u32(t.defaultFlags));
        let rf = 0x001 | 0x200;
        if (t.firstSampleFlags !== undefined) rf |= 0x004;
        if (t.durations) rf |= 0x100;
        if (t.sampleFlags) rf |= 0x400;
        const samples = t.sizes.map((s, k) => Buffer.concat([t.durations ? u32(t.durations[k]!) : zeros(0), u32(s), t.sampleFlags ? u32(t.sampleFlags[k]!) : zeros(0)]));
        return box(
          'traf',
          fullBox('tfhd', 0, tf, u32(t.trackId), ...opt),
          t.tfdtVersion === 1 ? fullBox('tfdt', 1, 0, u64(t.decodeTime)) : fullBox('tfdt', 0, 0, u32(t.decodeTime)),
          fullBox('trun', 0, rf, u32(t.sizes.length), u32(offsets[i] ?? 0), t.firstSampleFlags !== undefined ? u32(t.firstSampleFlags) : zeros(0), ...samples),
        );
      }),
    );
  const probe = build([]);
  const offsets: number[] = [];
  let at = probe.length + 8;
  for (const t of trafs) {
    offsets.push(at);
    at += t.sizes.reduce((a, b) => a + b, 0);
  }
  const moof = build(offsets);
  const data = Buffer.alloc(at - moof.length - 8, 0xab);
  return Buffer.concat([moof, box('mdat', data)]);
}

/** A keyframe or non-keyframe fragment of track 1 (3 video samples) + track 2 (2 audio samples). */
export function avFragment(sequence: number, key: boolean, decodeTime = (sequence - 1) * 3 * 1024): Buffer {
  return fragment(sequence, [
    { trackId: 1, decodeTime, sizes: [300, 120, 130], defaultDuration: 1024, defaultFlags: NON_KEY_FLAGS, ...(key ? { firstSampleFlags: KEY_FLAGS } : {}) },
    { trackId: 2, decodeTime: sequence * 2048, sizes: [50, 60], durations: [1024, 1024], defaultFlags: KEY_FLAGS },
  ]);
}
