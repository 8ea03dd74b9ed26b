// Box framing checks for live appends: a live copy only ever grows by whole top-level MP4 boxes,
// so that it plays at any moment up to its last fragment.
import type { FileHandle } from 'node:fs/promises';

const TYPE = /^[a-zA-Z0-9 ]{4}$/;
/** Boxes a live fragmented MP4 has at its top level. */
const ALLOWED = new Set(['ftyp', 'moov', 'moof', 'mdat', 'free', 'skip', 'styp', 'sidx', 'prft', 'emsg', 'uuid', 'mfra']);

function header(buf: Buffer, at: number): { size: number; type: string; headerBytes: number } | string {
  if (buf.length - at < 8) return `a cut box header at +${at}`;
  let size = buf.readUInt32BE(at);
  const type = buf.toString('latin1', at + 4, at + 8);
  let headerBytes = 8;
  if (!TYPE.test(type)) return `not a box type at +${at}`;
  if (size === 1) {
    if (buf.length - at < 16) return `a cut box header at +${at}`;
    const big = buf.readBigUInt64BE(at + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return `an impossible box size at +${at}`;
    size = Number(big);
    headerBytes = 16;
  } else if (size === 0) return `a box "to the end of the file" at +${at} (a live copy cannot grow after it)`;
  if (size < headerBytes) return `a box smaller than its header at +${at}`;
  return { size, type, headerBytes };
}

/**
 * undefined when `buf` is a run of whole top-level boxes of a fragmented MP4 (starting with ftyp and
 * moov when `atStart`), else what is wrong.
 */
export function checkBoxRun(buf: Buffer, atStart: boolean): string | undefined {
  let at = 0;
  let first = true;
  let sawMoov = !atStart;
  while (at < buf.length) {
    const h = header(buf, at);
    if (typeof h === 'string') return h;
    if (!ALLOWED.has(h.type)) return `an unexpected "${h.type}" box at +${at}`;
    if (first && atStart && h.type !== 'ftyp') return `the file must start with ftyp, not "${h.type}"`;
    if (h.type === 'moov') sawMoov = true;
    if ((h.type === 'moof' || h.type === 'mdat') && !sawMoov) return `a "${h.type}" before the moov`;
    if (at + h.size > buf.length) return `a cut "${h.type}" box at +${at} (${h.size} bytes, ${buf.length - at} sent)`;
    at += h.size;
    first = false;
  }
  return undefined;
}

/** Length of the run of whole boxes a file starts with (a crash mid-append can leave a cut one after it). */
export async function wholeBoxesLength(fh: FileHandle, size: number): Promise<number> {
  let at = 0;
  const hb = Buffer.alloc(16);
  while (at < size) {
    const { bytesRead } = await fh.read(hb, 0, Math.min(16, size - at), at);
    const h = header(hb.subarray(0, bytesRead), 0);
    if (typeof h === 'string' || at + h.size > size) {
      // a complete 8-byte header with a 64-bit size needs 16 bytes: header() said so when it was cut
      return at;
    }
    at += h.size;
  }
  return at;
}
