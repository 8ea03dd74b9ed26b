// Reading summary facts from a parsed moov: tracks, handlers, sample counts, trex defaults.
import { childNode, nodeAt, type BoxNode } from './box-tree.js';
import { Mp4FormatError } from './errors.js';
import { parseTrex, type TrexDefaults } from './trun.js';

export interface RepairResult {
  action: string;
  outputBytes: number;
  videoSamples: number;
  keyframes: number;
  audioSamples: number;
  droppedBytes: number;
  notes: string[];
}

export interface TrackSummary {
  trackId: number;
  /** Handler type from hdlr: 'vide', 'soun', ... */
  handler: string;
  /** From stsz (0 for a fragmented file's empty tables). */
  sampleCount: number;
  /** From stss; equal to sampleCount when there is no stss (every sample is a sync sample). */
  syncCount: number;
}

export function trackIdOf(trak: BoxNode): number {
  const tkhd = childNode(trak, 'tkhd')?.payload;
  if (!tkhd) throw new Mp4FormatError('trak without tkhd');
  const at = tkhd[0] === 1 ? 4 + 16 : 4 + 8;
  if (tkhd.length < at + 4) throw new Mp4FormatError(`tkhd is ${tkhd.length} bytes, too short for its track ID`);
  return tkhd.readUInt32BE(at);
}

export function handlerOf(trak: BoxNode): string {
  const hdlr = nodeAt(trak, ['mdia', 'hdlr'])?.payload;
  return hdlr && hdlr.length >= 12 ? hdlr.toString('latin1', 8, 12) : '????';
}

export function summarizeTracks(moov: BoxNode): TrackSummary[] {
  const out: TrackSummary[] = [];
  for (const trak of moov.children ?? []) {
    if (trak.type !== 'trak') continue;
    const stbl = nodeAt(trak, ['mdia', 'minf', 'stbl']);
    const stsz = stbl && (childNode(stbl, 'stsz')?.payload ?? childNode(stbl, 'stz2')?.payload);
    const stss = stbl && childNode(stbl, 'stss')?.payload;
    const sampleCount = stsz && stsz.length >= 12 ? stsz.readUInt32BE(8) : 0;
    out.push({
      trackId: trackIdOf(trak),
      handler: handlerOf(trak),
      sampleCount,
      syncCount: stss && stss.length >= 8 ? stss.readUInt32BE(4) : sampleCount,
    });
  }
  return out;
}

export function trexDefaults(moov: BoxNode): Map<number, TrexDefaults> {
  const out = new Map<number, TrexDefaults>();
  const mvex = childNode(moov, 'mvex');
  for (const c of mvex?.children ?? []) {
    if (c.type === 'trex' && c.payload) {
      const t = parseTrex(c.payload);
      out.set(t.trackId, t);
    }
  }
  return out;
}
