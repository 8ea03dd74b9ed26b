import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childBoxes, parseBoxHeader, scanTopLevel } from './box-reader.js';
import { box, boxHeader, ByteWriter } from './box-writer.js';
import { classifyMp4 } from './classify.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ...parts: Uint8Array[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, Buffer.concat(parts));
  return p;
}

const ftyp = () => box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));

describe('parseBoxHeader', () => {
  it('reads a 32-bit size', () => {
    const b = box('free', Buffer.alloc(12));
    const r = parseBoxHeader(b, 0, b.length);
    expect(r).toEqual({ ok: true, header: { type: 'free', size: 20, headerSize: 8, sizeField: 'normal' } });
  });

  it('reads a 64-bit largesize', () => {
    const b = new ByteWriter().u32(1).fourcc('mdat').u64(5_000_000_000).toBuffer();
    const r = parseBoxHeader(b, 0, 6_000_000_000);
    expect(r).toEqual({ ok: true, header: { type: 'mdat', size: 5_000_000_000, headerSize: 16, sizeField: 'large' } });
    expect(boxHeader('mdat', 5_000_000_000 - 16)).toEqual(b);
  });

  it('size 0 extends to the end of the file', () => {
    const b = new ByteWriter().u32(0).fourcc('mdat').zeros(100).toBuffer();
    const r = parseBoxHeader(b, 0, 108);
    expect(r.ok && r.header).toEqual({ type: 'mdat', size: 108, headerSize: 8, sizeField: 'to-end' });
  });

  it('rejects sizes below the header and non-type bytes', () => {
    expect(parseBoxHeader(new ByteWriter().u32(4).fourcc('free').toBuffer(), 0, 8).ok).toBe(false);
    expect(parseBoxHeader(new ByteWriter().u32(16).u32(0x0102fffe).zeros(8).toBuffer(), 0, 16).ok).toBe(false);
    expect(parseBoxHeader(new ByteWriter().u32(1).fourcc('mdat').u32(0).toBuffer(), 0, 12).ok).toBe(false); // largesize cut
    expect(parseBoxHeader(Buffer.alloc(5), 0, 5).ok).toBe(false);
  });

  it('walks children and refuses one that overruns its container', () => {
    const inner = Buffer.concat([box('mvhd', Buffer.alloc(4)), box('trak', box('tkhd', Buffer.alloc(8)))]);
    expect([...childBoxes(inner, 0, inner.length)].map((c) => [c.type, c.offset, c.size])).toEqual([
      ['mvhd', 0, 12],
      ['trak', 12, 24],
    ]);
    expect(() => [...childBoxes(inner, 0, inner.length - 1)]).toThrow(/runs past its container/);
  });
});

describe('scanTopLevel', () => {
  it('flags a box whose declared size runs past EOF', async () => {
    const mdat = box('mdat', Buffer.alloc(1000));
    const p = file('cut.mp4', ftyp(), mdat.subarray(0, 400));
    const fh = await open(p);
    const s = await scanTopLevel(fh, (await fh.stat()).size);
    await fh.close();
    expect(s.boxes.map((b) => [b.type, b.truncated])).toEqual([
      ['ftyp', false],
      ['mdat', true],
    ]);
    expect(s.boxes[1]!.size).toBe(1008);
  });

  it('reports junk after the last box', async () => {
    const p = file('junk.mp4', ftyp(), box('free', Buffer.alloc(4)), Buffer.from([0xff, 0xfe, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef, 1]));
    const fh = await open(p);
    const s = await scanTopLevel(fh, (await fh.stat()).size);
    await fh.close();
    expect(s.boxes.map((b) => b.type)).toEqual(['ftyp', 'free']);
    expect(s.junkAt).toBe(ftyp().length + 12);
  });
});

describe('classifyMp4 on synthetic layouts', () => {
  const moov = (mvex = false) => box('moov', box('mvhd', Buffer.alloc(100)), ...(mvex ? [box('mvex', box('trex', Buffer.alloc(24)))] : []));
  const fragment = () => [box('moof', box('mfhd', Buffer.alloc(8))), box('mdat', Buffer.alloc(50))];

  it.each([
    ['empty', [], 'empty'],
    ['only-ftyp', [ftyp()], 'empty'],
    ['garbage', [Buffer.from('this is not an mp4 file at all, just text')], 'garbage'],
    ['clean', [ftyp(), moov(), box('mdat', Buffer.alloc(64))], 'clean'],
    ['moov-at-end', [ftyp(), box('free', Buffer.alloc(0)), box('mdat', Buffer.alloc(64)), moov()], 'moov-at-end'],
    ['no-moov size 0', [ftyp(), new ByteWriter().u32(0).fourcc('mdat').zeros(300).toBuffer()], 'no-moov'],
    ['no-moov cut', [ftyp(), box('mdat', Buffer.alloc(300)).subarray(0, 200)], 'no-moov'],
    ['moov cut', [ftyp(), box('mdat', Buffer.alloc(64)), moov().subarray(0, 50)], 'no-moov'],
    ['fragmented header only', [ftyp(), moov(true)], 'empty'],
    ['fragmented-clean', [ftyp(), moov(true), ...fragment(), ...fragment()], 'fragmented-clean'],
    ['fragmented cut in mdat', [ftyp(), moov(true), ...fragment(), Buffer.concat(fragment()).subarray(0, 40)], 'fragmented-partial'],
    ['fragmented cut in moof', [ftyp(), moov(true), ...fragment(), Buffer.concat(fragment()).subarray(0, 10)], 'fragmented-partial'],
  ] as const)('%s', async (name, parts, kind) => {
    const c = await classifyMp4(file(`${name.replace(/\W/g, '_')}.mp4`, ...parts));
    expect(c.kind, c.reason).toBe(kind);
    expect(c.reason.length).toBeGreaterThan(10);
    if (kind.startsWith('fragmented') && name !== 'fragmented header only') expect(c.fragments).toEqual({ complete: kind === 'fragmented-clean' ? 2 : 1, partial: kind === 'fragmented-partial' });
  });
});
