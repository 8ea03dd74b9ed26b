// Moves the moov in front of the media data (ftyp, moov, other boxes, mdat) and relocates chunk offsets.
import { open } from 'node:fs/promises';
import { readBox } from './box-reader.js';
import { parseBox, serializeNode } from './box-tree.js';
import { relocateChunkOffsets } from './chunk-offsets.js';
import { classifyOpen } from './classify.js';
import { asMp4Error, LIMITS, Mp4FormatError } from './errors.js';
import { SequentialWriter } from './file-io.js';
import { summarizeTracks, type RepairResult } from './moov-info.js';

export async function faststart(input: string, output: string): Promise<RepairResult> {
  const fh = await open(input, 'r');
  try {
    const cls = await classifyOpen(fh);
    if (cls.kind !== 'moov-at-end' && cls.kind !== 'clean') throw new Error(`faststart needs a complete MP4 with a moov (${cls.kind}): ${cls.reason}`);
    const { boxes, fileBytes } = cls;
    const moovBox = boxes.find((b) => b.type === 'moov')!;
    const moov = parseBox(await readBox(fh, moovBox, LIMITS.maxMoovBytes), moovBox.offset);
    const tracks = summarizeTracks(moov);
    const notes: string[] = [];

    // Output order: ftyp (if first), moov, then every other box in its original order.
    const rest = boxes.filter((b) => b !== moovBox && !(b.type === 'ftyp' && b === boxes[0]));
    const head = boxes[0]?.type === 'ftyp' ? boxes[0] : undefined;
    const headBytes = head ? head.size : 0;
    const rel = relocateChunkOffsets(moov, (moovSize) => {
      // Where each kept box lands; offsets map through the box that holds them.
      const moved: Array<{ from: number; to: number; size: number }> = [];
      let pos = headBytes + moovSize;
      for (const b of rest) {
        moved.push({ from: b.offset, to: pos, size: b.size });
        pos += b.size;
      }
      if (head) moved.push({ from: head.offset, to: 0, size: head.size });
      return (offset) => {
        for (const m of moved) if (offset >= m.from && offset < m.from + m.size) return offset - m.from + m.to;
        if (offset === fileBytes) return offset - moovBox.size + moovSize; // an empty chunk at EOF
        throw new Mp4FormatError(`chunk offset ${offset} is not inside any box of the file`);
      };
    });
    if (rel.convertedToCo64) notes.push(`switched ${rel.convertedToCo64} stco table(s) to co64: offsets pass 4 GiB`);
    if (cls.kind === 'clean') notes.push('moov was already before the mdat: rewritten in the same layout');
    if (cls.scan.junkAt !== undefined) notes.push(`dropped ${fileBytes - cls.scan.junkAt} trailing bytes that are not boxes`);

    const out = await SequentialWriter.create(output);
    try {
      if (head) await out.copyFrom(fh, head.offset, head.size);
      await out.write(serializeNode(moov));
      for (const b of rest) await out.copyFrom(fh, b.offset, b.size);
      const outputBytes = out.position;
      await out.close();
      const video = tracks.filter((t) => t.handler === 'vide');
      return {
        action: rel.convertedToCo64 ? 'faststart (co64)' : 'faststart',
        outputBytes,
        videoSamples: video.reduce((n, t) => n + t.sampleCount, 0),
        keyframes: video.reduce((n, t) => n + t.syncCount, 0),
        audioSamples: tracks.filter((t) => t.handler === 'soun').reduce((n, t) => n + t.sampleCount, 0),
        droppedBytes: Math.max(0, fileBytes - (outputBytes - rel.moovSize + moovBox.size)),
        notes: [`moved moov (${moovBox.size} → ${rel.moovSize} bytes) before ${rest.length} box(es); relocated ${rel.chunkCount} chunk offsets`, ...notes],
      };
    } catch (e) {
      await out.discard();
      throw e;
    }
  } catch (e) {
    throw asMp4Error(e, `faststart ${input}`);
  } finally {
    await fh.close();
  }
}
