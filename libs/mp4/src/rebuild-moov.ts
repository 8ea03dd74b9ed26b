// Rebuilds the moov of an MP4 whose writer was killed (ftyp + mdat, no moov), untrunc-style: the track
// layout comes from a reference file of the same camera, the sample tables from walking the mdat.
import { open, type FileHandle } from 'node:fs/promises';
import { box, boxHeader } from './box-writer.js';
import { classifyOpen } from './classify.js';
import { asMp4Error } from './errors.js';
import { compositionFromPoc } from './composition.js';
import { readAt, SequentialWriter } from './file-io.js';
import { aacParserFor } from './aac-frame.js';
import { scanMdat } from './mdat-scan.js';
import type { RepairResult } from './moov-info.js';
import { buildMoov, needsCo64, type TrackTables } from './moov-writer.js';
import { readReferenceLayout, type ReferenceLayout } from './reference.js';

export interface RebuildOptions {
  /** A good MP4 from the same camera (same codec settings). */
  reference: string;
  onProgress?(bytesDone: number, bytesTotal: number): void;
}

export async function rebuildMoov(input: string, output: string, opts: RebuildOptions): Promise<RepairResult> {
  const ref = await readReferenceLayout(opts.reference);
  const fh = await open(input, 'r');
  try {
    return await rebuildOpen(fh, input, output, opts, ref);
  } catch (e) {
    throw asMp4Error(e, `rebuild ${input}`);
  } finally {
    await fh.close();
  }
}

async function rebuildOpen(fh: FileHandle, input: string, output: string, opts: RebuildOptions, ref: ReferenceLayout): Promise<RepairResult> {
  const cls = await classifyOpen(fh);
  if (cls.kind === 'garbage' || cls.kind === 'empty') throw new Error(`nothing to rebuild (${cls.kind}): ${cls.reason}`);
  const mdatIdx = cls.boxes.findIndex((b) => b.type === 'mdat');
  const mdat = cls.boxes[mdatIdx];
  if (!mdat) throw new Error(`no mdat in ${input}: ${cls.reason}`);
  const notes: string[] = [...ref.notes];
  if (cls.kind !== 'no-moov') notes.push(`input was ${cls.kind}; its moov (if any) is ignored`);
  const dataStart = mdat.offset + cls.scan.headerSizes[mdatIdx]!;
  const dataEnd = Math.min(cls.fileBytes, mdat.offset + mdat.size);
  // Open-ended: cut (declared size past EOF) or never finalized (size 0 = "to the end of the file").
  const openEnded = mdat.truncated || (await readAt(fh, mdat.offset, 4)).readUInt32BE(0) === 0;

  const video = ref.video;
  const audioSetup = ref.audio ? aacParserFor(ref.audio.asc) : { reason: 'the reference has no audio track' };
  const scan = await scanMdat(
    fh,
    dataStart,
    dataEnd,
    {
      lengthSize: video.lengthSize,
      ps: { sps: new Map(video.ps.sps), pps: new Map(video.ps.pps) },
      allowedTypes: video.nalTypes,
      maxNalSize: Math.max(4 << 20, video.width * video.height * 4),
    },
    audioSetup.parser,
    { dataEndIsClean: !openEnded, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) },
  );
  const nVideo = scan.video.offsets.length;
  if (nVideo === 0) throw new Error(`no H.264 video sample found in the mdat (${scan.stopReason})`);
  notes.push(`walked ${dataEnd - dataStart} mdat bytes: ${nVideo} video samples, ${scan.gaps} non-video gaps (${scan.gapBytes} bytes); stopped: ${scan.stopReason}`);
  const differs = (nal: Buffer | undefined, known: Buffer[]) => nal !== undefined && known.length > 0 && !known.some((k) => k.equals(nal));
  if (differs(scan.inbandSps, video.spsNals) || differs(scan.inbandPps, video.ppsNals)) {
    notes.push('warning: the stream carries in-band SPS/PPS that differ from the reference avcC (other resolution or encoder settings?); the output uses the reference sample description — pick a reference recorded with the same settings if it does not play');
  }
  if (scan.droppedTailSamples) notes.push(`dropped ${scan.droppedTailSamples} incomplete video sample(s) at the end`);
  if (ref.audio && !scan.audio) {
    const why = audioSetup.reason ?? (scan.unsplitGaps ? `${scan.unsplitGaps} of ${scan.gaps} gaps between video samples did not split into AAC frames` : 'no audio frames found between video samples');
    notes.push(`audio not recovered: ${why}; the output has video only`);
  }

  // Tables with offsets relative to the input; moved to output positions once the moov size is known.
  const tracks = trackTables(ref, scan);
  const ftyp = await ftypFor(fh, cls.boxes, ref);
  const payloadEnd = scan.endOffset;
  const mdatHead = boxHeader('mdat', payloadEnd - dataStart);
  let co64 = false;
  let moov = buildMoov(tracks, co64);
  const shiftFor = (moovSize: number) => ftyp.length + moovSize + mdatHead.length - dataStart;
  const shifted = (shift: number) => tracks.map((t) => ({ ...t, offsets: t.offsets.map((o) => o + shift) }));
  if (needsCo64(shifted(shiftFor(moov.length)))) {
    co64 = true;
    moov = buildMoov(tracks, co64);
    notes.push('chunk offsets pass 4 GiB: co64');
  }
  const moovSize = moov.length;
  moov = buildMoov(shifted(shiftFor(moovSize)), co64);
  if (moov.length !== moovSize) throw new Error('internal: moov size changed with the offsets');

  const out = await SequentialWriter.create(output);
  try {
    await out.write(ftyp);
    await out.write(moov);
    await out.write(mdatHead);
    await out.copyFrom(fh, dataStart, payloadEnd - dataStart);
    const outputBytes = out.position;
    await out.close();
    return {
      action: 'rebuild-moov',
      outputBytes,
      videoSamples: nVideo,
      keyframes: scan.video.sync.length,
      audioSamples: scan.audio?.offsets.length ?? 0,
      droppedBytes: cls.fileBytes - dataEnd + (dataEnd - payloadEnd),
      notes,
    };
  } catch (e) {
    await out.discard();
    throw e;
  }
}

function trackTables(ref: ReferenceLayout, scan: Awaited<ReturnType<typeof scanMdat>>): TrackTables[] {
  const v = ref.video;
  const comp = compositionFromPoc(scan.video.pocs, scan.video.sync);
  const video: TrackTables = {
    trackId: 1,
    handler: 'vide',
    timescale: v.timescale,
    language: v.language,
    sampleDelta: v.sampleDelta,
    stsd: v.stsd,
    hdlr: v.hdlr,
    mediaHeader: v.mediaHeader,
    tkhdWidth: v.tkhdWidth,
    tkhdHeight: v.tkhdHeight,
    alternateGroup: v.alternateGroup,
    offsets: scan.video.offsets,
    sizes: scan.video.sizes,
    sync: scan.video.sync,
    editMediaTime: comp ? comp.shift * v.sampleDelta : 0,
    ...(comp ? { compositionOffsets: comp.offsets.map((f) => f * v.sampleDelta) } : {}),
  };
  const tracks = [video];
  const a = ref.audio;
  if (a && scan.audio) {
    const n = scan.audio.offsets.length;
    tracks.push({
      trackId: 2,
      handler: 'soun',
      timescale: a.timescale,
      language: a.language,
      sampleDelta: a.sampleDelta,
      stsd: a.stsd,
      hdlr: a.hdlr,
      mediaHeader: a.mediaHeader,
      tkhdWidth: 0,
      tkhdHeight: 0,
      alternateGroup: a.alternateGroup,
      offsets: scan.audio.offsets,
      sizes: scan.audio.sizes,
      editMediaTime: a.editMediaTime < n * a.sampleDelta ? a.editMediaTime : 0,
      ...(a.sampleGroups ? { sampleGroups: a.sampleGroups } : {}),
    });
  }
  return tracks;
}

/** The input's ftyp when it is complete, else the reference's, else a generic one. */
async function ftypFor(fh: Awaited<ReturnType<typeof open>>, boxes: Array<{ type: string; offset: number; size: number; truncated: boolean }>, ref: ReferenceLayout): Promise<Buffer> {
  const f = boxes.find((b) => b.type === 'ftyp' && !b.truncated && b.size <= 4096);
  if (f) return readAt(fh, f.offset, f.size);
  if (ref.ftyp) return ref.ftyp;
  return box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));
}
