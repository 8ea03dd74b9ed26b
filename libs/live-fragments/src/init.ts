// The init section (ftyp + moov) of a fragmented MP4: its tracks, their timescales and trex
// defaults (needed to read the fragments), and the codec strings MSE wants.
import { BoxFormatError, Reader, child, children, fourcc, hex, type Box } from './boxes.js';

export type TrackKind = 'video' | 'audio' | 'other';

export interface TrackInfo {
  id: number;
  kind: TrackKind;
  /** hdlr handler type ('vide', 'soun', ...). */
  handler: string;
  /** mdhd timescale (units per second of this track's decode times and durations). */
  timescale: number;
  /** Four-character code of the first sample entry ('avc1', 'hvc1', 'mp4a', 'alaw', ...). */
  sampleEntry: string;
  /**
   * RFC 6381 codec string ('avc1.640028', 'hvc1.1.6.L93.B0', 'mp4a.40.2'), or the sample entry
   * name when there is no standard one ('alaw', 'ulaw': not playable by MSE).
   */
  codec: string;
  /** trex defaults for this track's fragments (0 when the moov has no trex for it). */
  defaults: { sampleDuration: number; sampleSize: number; sampleFlags: number };
}

export interface InitInfo {
  tracks: TrackInfo[];
  /** The first video track (its samples decide keyframes, decode times and durations). */
  videoTrackId: number | undefined;
  /** Codec strings of every video/audio track, video first. */
  codecs: string[];
  /** e.g. 'video/mp4; codecs="avc1.640028, mp4a.40.2"' (for MediaSource.isTypeSupported / addSourceBuffer). */
  mimeType: string;
  /**
   * Opaque: equal for two inits whose tracks and sample descriptions (codec configuration) are
   * the same, so a player needs a new init only when it changes.
   */
  configKey: string;
}

/** Parses the moov (the whole box, header included) of an init section. */
export function parseInit(moov: Uint8Array): InitInfo {
  const top = children(moov, 0, moov.length, 'init');
  const moovBox = top[0];
  if (!moovBox || moovBox.type !== 'moov' || top.length !== 1) throw new BoxFormatError(`init: expected one moov box, found ${top.map((b) => b.type).join(', ') || 'nothing'}`);
  const kids = children(moov, moovBox.start, moovBox.end, 'moov');
  const trex = new Map<number, TrackInfo['defaults']>();
  const mvex = kids.find((k) => k.type === 'mvex');
  if (mvex) {
    for (const t of children(moov, mvex.start, mvex.end, 'mvex')) {
      if (t.type !== 'trex') continue;
      const r = new Reader(moov, t, 'trex');
      trex.set(r.u32(4, 'track ID'), { sampleDuration: r.u32(12, 'default sample duration'), sampleSize: r.u32(16, 'default sample size'), sampleFlags: r.u32(20, 'default sample flags') });
    }
  }
  const tracks: TrackInfo[] = [];
  const stsds: string[] = [];
  for (const trak of kids) {
    if (trak.type !== 'trak') continue;
    const t = parseTrak(moov, trak, trex);
    tracks.push(t.info);
    stsds.push(`${t.info.id}/${t.info.timescale}/${t.stsdHex}`);
  }
  if (tracks.length === 0) throw new BoxFormatError('moov has no trak');
  const video = tracks.find((t) => t.kind === 'video');
  const av = [...tracks.filter((t) => t.kind === 'video'), ...tracks.filter((t) => t.kind === 'audio')];
  const codecs = av.map((t) => t.codec);
  const container = video ? 'video/mp4' : 'audio/mp4';
  return {
    tracks,
    videoTrackId: video?.id,
    codecs,
    mimeType: `${container}; codecs="${codecs.join(', ')}"`,
    configKey: stsds.join('|'),
  };
}

function parseTrak(b: Uint8Array, trak: Box, trex: Map<number, TrackInfo['defaults']>): { info: TrackInfo; stsdHex: string } {
  const tkhd = child(b, trak, 'tkhd', 'trak');
  if (!tkhd) throw new BoxFormatError('trak without tkhd');
  const tk = new Reader(b, tkhd, 'tkhd');
  const id = tk.u32(tk.full().version === 1 ? 20 : 12, 'track ID');
  const where = `trak ${id}`;
  const mdia = child(b, trak, 'mdia', where);
  if (!mdia) throw new BoxFormatError(`${where} has no mdia`);
  const mdhd = child(b, mdia, 'mdhd', `${where} mdia`);
  const hdlr = child(b, mdia, 'hdlr', `${where} mdia`);
  if (!mdhd || !hdlr) throw new BoxFormatError(`${where} mdia lacks ${mdhd ? 'hdlr' : 'mdhd'}`);
  const md = new Reader(b, mdhd, `${where} mdhd`);
  const timescale = md.u32(md.full().version === 1 ? 20 : 12, 'timescale');
  if (timescale === 0) throw new BoxFormatError(`${where} mdhd timescale is 0`);
  const handler = fourcc(new Reader(b, hdlr, `${where} hdlr`).bytes(8, 4, 'handler type'), 0);
  const kind: TrackKind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
  const minf = child(b, mdia, 'minf', `${where} mdia`);
  const stbl = minf && child(b, minf, 'stbl', `${where} minf`);
  const stsd = stbl && child(b, stbl, 'stsd', `${where} stbl`);
  let sampleEntry = '';
  let codec = '';
  if (stsd) {
    const entries = children(b, stsd.start + 8, stsd.end, `${where} stsd`);
    const e = entries[0];
    if (e) {
      sampleEntry = e.type;
      codec = codecString(b, e, kind, `${where} ${e.type}`);
    }
  }
  if (!sampleEntry && kind !== 'other') throw new BoxFormatError(`${where} (${handler}) has no sample description`);
  const defaults = trex.get(id) ?? { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 };
  return { info: { id, kind, handler, timescale, sampleEntry, codec: codec || sampleEntry, defaults }, stsdHex: stsd ? hex(b, stsd.start, stsd.end - stsd.start) : '' };
}

/** Offset, within a sample entry, of its child boxes. */
function entryChildrenAt(b: Uint8Array, e: Box, kind: TrackKind): number | undefined {
  if (kind === 'video') return e.start + 78;
  if (kind === 'audio') {
    // ISO: version 0 (28 bytes). QuickTime sound description v1 adds 16 bytes, v2 adds 36.
    if (e.end - e.start < 28) return undefined;
    const version = (b[e.start + 8]! << 8) | b[e.start + 9]!;
    return e.start + (version === 1 ? 44 : version === 2 ? 64 : 28);
  }
  return undefined;
}

function codecString(b: Uint8Array, e: Box, kind: TrackKind, where: string): string {
  const at = entryChildrenAt(b, e, kind);
  if (at === undefined || at > e.end) return e.type;
  let kids: Box[];
  try {
    kids = children(b, at, e.end, where);
  } catch {
    return e.type; // sample entry extensions we cannot walk: the codec string is only a hint
  }
  const find = (t: string) => kids.find((k) => k.type === t);
  switch (e.type) {
    case 'avc1':
    case 'avc3': {
      const c = find('avcC');
      return c ? avcCodecString(e.type, b.subarray(c.start, c.end)) : e.type;
    }
    case 'hvc1':
    case 'hev1': {
      const c = find('hvcC');
      return c ? hevcCodecString(e.type, b.subarray(c.start, c.end)) : e.type;
    }
    case 'mp4a': {
      let esds = find('esds');
      const wave = find('wave'); // QuickTime puts esds inside a 'wave' box
      if (!esds && wave) esds = child(b, wave, 'esds', `${where} wave`);
      return esds ? mp4aCodecString(b.subarray(esds.start, esds.end)) : 'mp4a.40.2';
    }
    case 'Opus':
      return 'opus';
    case 'fLaC':
      return 'flac';
    default:
      return e.type;
  }
}

/** 'avc1.PPCCLL' from an avcC payload (profile, constraint flags, level). */
export function avcCodecString(entry: string, avcC: Uint8Array): string {
  if (avcC.length < 4) throw new BoxFormatError(`avcC is ${avcC.length} bytes, too short for its profile and level`);
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `${entry}.${h(avcC[1]!)}${h(avcC[2]!)}${h(avcC[3]!)}`;
}

/** 'hvc1.1.6.L93.B0' from an hvcC payload (ISO/IEC 14496-15 annex E). */
export function hevcCodecString(entry: string, hvcC: Uint8Array): string {
  if (hvcC.length < 13) throw new BoxFormatError(`hvcC is ${hvcC.length} bytes, too short for its profile and level`);
  const space = hvcC[1]! >> 6;
  const tier = (hvcC[1]! >> 5) & 1;
  const profile = hvcC[1]! & 0x1f;
  const compat = ((hvcC[2]! << 24) | (hvcC[3]! << 16) | (hvcC[4]! << 8) | hvcC[5]!) >>> 0;
  let reversed = 0;
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i);
  const constraints = Array.from(hvcC.subarray(6, 12));
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const parts = [entry, `${['', 'A', 'B', 'C'][space]}${profile}`, (reversed >>> 0).toString(16).toUpperCase(), `${tier ? 'H' : 'L'}${hvcC[12]!}`, ...constraints.map((c) => c.toString(16).toUpperCase())];
  return parts.join('.');
}

/**
 * 'mp4a.40.2' from an esds payload (version/flags first): the object type indication and, for
 * MPEG-4 audio (0x40), the audio object type of the AudioSpecificConfig.
 */
export function mp4aCodecString(esds: Uint8Array): string {
  let p = 4; // full box version/flags
  const fail = (what: string) => new BoxFormatError(`esds: ${what}`);
  const descriptor = (tag: number): number => {
    if (esds[p] !== tag) throw fail(`expected descriptor tag ${tag} at ${p}, found ${esds[p]}`);
    p++;
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const c = esds[p++];
      if (c === undefined) throw fail('descriptor length runs past the box');
      len = (len << 7) | (c & 0x7f);
      if (!(c & 0x80)) break;
    }
    if (p + len > esds.length) throw fail(`descriptor ${tag} of ${len} bytes runs past the box`);
    return p + len;
  };
  descriptor(0x03);
  if (p + 3 > esds.length) throw fail('ES descriptor is cut');
  const esFlags = esds[p + 2]!;
  p += 3;
  if (esFlags & 0x80) p += 2;
  if (esFlags & 0x40) p += 1 + (esds[p] ?? 0);
  if (esFlags & 0x20) p += 2;
  const dcdEnd = descriptor(0x04);
  const oti = esds[p];
  if (oti === undefined || p + 13 > dcdEnd) throw fail('decoder config descriptor is cut');
  const base = `mp4a.${oti.toString(16)}`;
  p += 13;
  if (oti !== 0x40 || p >= dcdEnd || esds[p] !== 0x05) return oti === 0x40 ? `${base}.2` : base;
  descriptor(0x05);
  const b0 = esds[p];
  if (b0 === undefined) return `${base}.2`;
  let aot = b0 >> 3;
  if (aot === 31) aot = 32 + (((b0 & 7) << 3) | ((esds[p + 1] ?? 0) >> 5));
  return `${base}.${aot}`;
}
