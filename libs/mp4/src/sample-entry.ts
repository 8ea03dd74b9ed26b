// Sample descriptions (stsd): the entries, the H.264 avcC and the AAC esds inside them, bounds-checked.
import { childBoxes, findChild, type ChildBox } from './box-reader.js';
import { Mp4FormatError } from './errors.js';
import { parsePps, parseSps, type Pps, type Sps } from './h264-nal.js';
import { parseAudioSpecificConfig, type AudioSpecificConfig } from './aac-frame.js';

/** The sample entries of an stsd payload (version/flags, entry_count, entries); checks the count. */
export function sampleEntries(stsd: Buffer, where = 'stsd'): ChildBox[] {
  if (stsd.length < 8) throw new Mp4FormatError(`${where} is ${stsd.length} bytes, too short for its entry count`);
  const count = stsd.readUInt32BE(4);
  const out: ChildBox[] = [];
  try {
    for (const e of childBoxes(stsd, 8, stsd.length)) {
      if (out.length === count) throw new Mp4FormatError(`${where} declares ${count} sample entries but holds more`);
      out.push(e);
    }
  } catch (e) {
    if (e instanceof Mp4FormatError && !e.message.startsWith(where)) throw new Mp4FormatError(`${where}: ${e.message} (offsets within the stsd payload)`);
    throw e;
  }
  if (out.length !== count) throw new Mp4FormatError(`${where} declares ${count} sample entries but holds ${out.length}`);
  return out;
}

/** Bytes of a VisualSampleEntry before its child boxes. */
const VISUAL_ENTRY_BYTES = 78;

export interface AvcEntry {
  type: string;
  width: number;
  height: number;
  avcC: AvcConfig;
}

export interface AvcConfig {
  /** NAL unit length prefix size (1, 2 or 4). */
  lengthSize: number;
  sps: Sps[];
  pps: Pps[];
  spsNals: Buffer[];
  ppsNals: Buffer[];
}

/** An avc1/avc3 sample entry of `stsd` (offsets inside the stsd payload) with its parsed avcC. */
export function avcSampleEntry(stsd: Buffer, entry: ChildBox, where = entry.type): AvcEntry {
  if (entry.end - entry.start < VISUAL_ENTRY_BYTES) throw new Mp4FormatError(`${where} sample entry is ${entry.end - entry.start} bytes, a visual sample entry needs ${VISUAL_ENTRY_BYTES}`);
  const avcC = findChild(stsd, entry.start + VISUAL_ENTRY_BYTES, entry.end, 'avcC');
  if (!avcC) throw new Mp4FormatError(`${where} sample entry has no avcC`);
  return { type: entry.type, width: stsd.readUInt16BE(entry.start + 24), height: stsd.readUInt16BE(entry.start + 26), avcC: parseAvcC(stsd.subarray(avcC.start, avcC.end), `${where} avcC`) };
}

/** Parses an avcC payload (AVCDecoderConfigurationRecord): NAL length size, then every SPS and PPS. */
export function parseAvcC(c: Buffer, where = 'avcC'): AvcConfig {
  if (c.length < 7) throw new Mp4FormatError(`${where} is ${c.length} bytes, too short for a decoder configuration record`);
  if (c[0] !== 1) throw new Mp4FormatError(`${where} has configurationVersion ${c[0]} (expected 1)`);
  const lengthSize = (c[4]! & 3) + 1;
  if (lengthSize === 3) throw new Mp4FormatError(`${where}: NAL length size 3 is not allowed`);
  const out: AvcConfig = { lengthSize, sps: [], pps: [], spsNals: [], ppsNals: [] };
  let o = 5;
  const sets = <T>(count: number, what: 'SPS' | 'PPS', parse: (b: Buffer, start: number, end: number) => T, into: T[], nals: Buffer[]) => {
    for (let i = 0; i < count; i++) {
      if (o + 2 > c.length) throw new Mp4FormatError(`${where} declares ${count} ${what}s but ends after ${i}`);
      const len = c.readUInt16BE(o);
      if (o + 2 + len > c.length) throw new Mp4FormatError(`${where} ${what} #${i + 1} (${len} bytes) runs past its end`);
      try {
        into.push(parse(c, o + 2, o + 2 + len));
      } catch (e) {
        if (e instanceof Mp4FormatError) throw new Mp4FormatError(`${where} ${what} #${i + 1}: ${e.message}`);
        throw e;
      }
      nals.push(Buffer.from(c.subarray(o + 2, o + 2 + len)));
      o += 2 + len;
    }
  };
  sets(c[o++]! & 0x1f, 'SPS', parseSps, out.sps, out.spsNals);
  if (o >= c.length) throw new Mp4FormatError(`${where} ends before its PPS count`);
  sets(c[o++]!, 'PPS', parsePps, out.pps, out.ppsNals);
  return out;
}

export interface AudioEntry {
  type: string;
  channels: number;
  sampleRate: number;
  /** The AudioSpecificConfig of an mp4a entry's esds (undefined: no esds, or it has none). */
  asc?: AudioSpecificConfig;
}

/**
 * An AudioSampleEntry (ISO, or QuickTime sound description version 1/2); parses an mp4a's esds.
 * An AudioSpecificConfig that does not parse is an error, or with `lenientAsc` just left out.
 */
export function audioSampleEntry(stsd: Buffer, entry: ChildBox, where = entry.type, lenientAsc = false): AudioEntry {
  const n = entry.end - entry.start;
  if (n < 28) throw new Mp4FormatError(`${where} sample entry is ${n} bytes, an audio sample entry needs 28`);
  const version = stsd.readUInt16BE(entry.start + 8);
  const out: AudioEntry = { type: entry.type, channels: stsd.readUInt16BE(entry.start + 16), sampleRate: stsd.readUInt32BE(entry.start + 24) >>> 16 };
  if (entry.type !== 'mp4a') return out;
  const childStart = entry.start + 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
  if (childStart > entry.end) throw new Mp4FormatError(`${where} sample entry version ${version} is ${n} bytes, too short for its fields`);
  const esds = findChild(stsd, childStart, entry.end, 'esds');
  if (!esds) return out;
  const dsi = decoderSpecificInfo(stsd.subarray(esds.start + 4, esds.end), `${where} esds`);
  if (dsi) {
    try {
      out.asc = parseAudioSpecificConfig(dsi);
    } catch (e) {
      if (!(e instanceof Mp4FormatError)) throw e;
      if (!lenientAsc) throw new Mp4FormatError(`${where} esds: ${e.message}`);
    }
  }
  return out;
}

/** The DecoderSpecificInfo (tag 5) bytes inside an esds ES_Descriptor (the payload after version/flags). */
export function decoderSpecificInfo(d: Buffer, where = 'esds'): Buffer | undefined {
  let o = 0;
  const need = (n: number, what: string) => {
    if (o + n > d.length) throw new Mp4FormatError(`${where} ends inside its ${what}`);
  };
  const readLen = () => {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      need(1, 'descriptor length');
      const b = d[o++]!;
      n = n * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return n;
  };
  while (o < d.length) {
    const tag = d[o++]!;
    const len = readLen();
    if (tag === 0x03) {
      need(3, 'ES_Descriptor');
      const flags = d[o + 2]!;
      o += 3;
      if (flags & 0x80) o += 2;
      if (flags & 0x40) {
        need(1, 'ES_Descriptor URL');
        o += 1 + d[o]!;
      }
      if (flags & 0x20) o += 2;
    } else if (tag === 0x04) o += 13;
    else if (tag === 0x05) {
      need(len, 'DecoderSpecificInfo');
      return d.subarray(o, o + len);
    } else o += len;
  }
  return undefined;
}
