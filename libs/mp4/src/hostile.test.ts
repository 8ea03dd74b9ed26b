// Regression tests for the security review's hostile inputs (issue 11, finding 7): each crafted file
// through every entry point in a child process that measures time and peak memory per run, plus the
// bounded parsers on their own and classify's consistency checks.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAudioSpecificConfig, AacFrameParser } from './aac-frame.js';
import { box } from './box-writer.js';
import { collectNodes, parseBox, parseBoxes, type BoxNode } from './box-tree.js';
import { classifyMp4 } from './classify.js';
import { LIMITS, Mp4FormatError } from './errors.js';
import { describeFragment } from './fragment-trim.js';
import { parsePps, parseSps } from './h264-nal.js';
import { ENTRY_POINTS, type HostileRun } from './testing/hostile-child.js';
import { boxPath, corpusFile, hostileCases, prng, randomBuffer } from './testing/hostile.js';
import { parseTfhd, parseTrun, readTrun, TRUN_DATA_OFFSET } from './trun.js';

const run = promisify(execFile);
const CHILD = path.join(import.meta.dirname, 'testing/hostile-child.ts');

describe('hostile files through every entry point (child process: time and peak memory per run)', () => {
  let runs: HostileRun[] = [];
  beforeAll(async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], { maxBuffer: 16 << 20, timeout: 120_000 });
    runs = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as HostileRun);
    for (const r of runs) console.log(`[measure] hostile ${r.name}/${r.entry}: ${r.ms.toFixed(1)} ms, ${r.mb.toFixed(1)} MB (${r.outcome}: ${r.detail.slice(0, 140)})`);
  }, 150_000);

  it.each(hostileCases().map((c) => [c.name, c.what]))('%s (%s): not playable / a clear error from each, < 1 s, < 100 MB', (name) => {
    const mine = runs.filter((r) => r.name === name);
    expect(mine.map((r) => r.entry)).toEqual([...ENTRY_POINTS]);
    for (const r of mine) {
      const what = `${r.entry}: ${r.detail}`;
      expect(r.outcome, what).not.toBe('crash');
      expect(r.ms, what).toBeLessThan(1000);
      expect(r.mb, what).toBeLessThan(100);
      if (r.entry === 'classify') expect(r.detail, what).toMatch(/^garbage: Corrupt MP4: \S.*\.$/);
      else expect(r.outcome, what).toBe('error');
    }
  });

  it('says what is wrong, in one line', () => {
    const reason = (name: string) => runs.find((r) => r.name === name && r.entry === 'classify')?.detail ?? '';
    expect(reason('trun-10m-2kb')).toMatch(/trun in moof #1 \(track 1\) declares 9999999 samples but its mdat holds only \d+ bytes/);
    expect(reason('trun-flags-overwrite')).toMatch(/trun in moof #1 \(track 1\) declares 99\d{5} samples but its mdat holds only \d+ bytes/);
    expect(reason('trun-count-overwrite')).toMatch(/trun in moof #1 \(track 1\) declares 2147483647 samples but its payload holds at most \d+/);
    expect(reason('nested-200k-moov')).toContain(`boxes nested more than ${LIMITS.maxDepth} deep`);
    expect(reason('nested-200k-moof')).toContain(`boxes nested more than ${LIMITS.maxDepth} deep`);
    expect(reason('trun-optional-cut')).toContain('flags 0x5 announce 8 bytes of data offset/first-sample flags but its payload has 4');
    expect(reason('tfhd-optional-cut')).toContain('tfhd in moof #1 flags 0x1 announce a base data offset');
    expect(reason('broken-pps')).toContain('avcC PPS #1: PPS NAL unit (1 byte) ends inside its fields');
    expect(reason('broken-sps')).toContain('avcC SPS #1: SPS NAL unit (2 bytes) ends inside its fields');
    for (const r of runs) expect(r.detail).not.toContain('\n');
  });
});

describe('bounded parsers', () => {
  it('a trun of default-sized samples claiming ~10 M samples: the table form allocates nothing per sample', () => {
    const p = Buffer.alloc(12);
    p.writeUInt32BE(TRUN_DATA_OFFSET, 0);
    p.writeUInt32BE(9_999_999, 4);
    const t0 = performance.now();
    const t = readTrun(p);
    expect(t).toEqual({ version: 0, flags: TRUN_DATA_OFFSET, count: 9_999_999, dataOffset: 0 });
    expect(() => parseTrun(p)).toThrow(new Mp4FormatError(`trun declares 9999999 samples without per-sample fields, more than the ${LIMITS.maxExpandedSamples} parseTrun expands`));

    // Resolved in a fragment: offsets and sync flags by arithmetic.
    const tfhd = Buffer.from([0, 0x02, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 100]); // default-base-is-moof, default size 100
    const moof = parseBox(box('moof', box('traf', box('tfhd', tfhd), box('trun', p))));
    const [track] = describeFragment(moof, 1000, new Map());
    const r = track!.runs[0]!;
    expect([r.count, r.first, r.end, r.startOf(9_999_998), r.syncCount(9_999_999), r.completeIn(1000, 1000 + 1500)]).toEqual([9_999_999, 1000, 1000 + 999_999_900, 1000 + 999_999_800, 9_999_999, 15]);
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it('a trun whose per-sample fields cannot fit its payload fails before allocating', () => {
    const p = Buffer.alloc(20);
    p.writeUInt32BE(0x000201, 0); // data offset + sizes
    p.writeUInt32BE(0x7fffffff, 4);
    expect(() => readTrun(p, 'trun in moof #3')).toThrow(new Mp4FormatError('trun in moof #3 declares 2147483647 samples but its payload holds at most 2'));
  });

  it('truncated optional fields of trun and tfhd are clear errors', () => {
    expect(() => parseTrun(Buffer.from([0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/trun flags 0x5 announce 8 bytes of data offset\/first-sample flags but its payload has 4/);
    expect(() => parseTrun(Buffer.from([0, 0, 1]))).toThrow(/trun is 3 bytes, too short/);
    expect(() => parseTfhd(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]))).toThrow(/tfhd flags 0x1 announce a base data offset but its 8 bytes end first/);
    expect(() => parseTfhd(Buffer.from([0, 0, 0, 0x38, 0, 0, 0, 1, 0, 0, 0, 9]))).toThrow(/tfhd flags 0x38 announce a default sample size/);
    expect(() => parseTfhd(Buffer.alloc(5))).toThrow(/tfhd is 5 bytes/);
  });

  it('200 000 nested boxes: an error at depth 32, no stack overflow; too many boxes: an error', () => {
    const depth = 200_000;
    const b = Buffer.alloc(depth * 8);
    for (let i = 0; i < depth; i++) {
      b.writeUInt32BE(b.length - i * 8, i * 8);
      b.write('trak', i * 8 + 4, 'latin1');
    }
    expect(() => parseBoxes(b, 0, b.length)).toThrow(Mp4FormatError);
    expect(() => parseBoxes(b, 0, b.length)).toThrow(/boxes nested more than 32 deep \('trak' at offset 256, inside trak\/trak\/trak\/\.\.\.\)/);
    const many = box('moov', ...Array.from({ length: LIMITS.maxBoxes + 1 }, () => Buffer.from([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65])));
    expect(() => parseBox(many)).toThrow(`more than ${LIMITS.maxBoxes} boxes inside moov`);
    // collectNodes walks a hand-built tree of any depth without recursion.
    const root: BoxNode = { type: 'moov', children: [] };
    let cur = root;
    for (let i = 0; i < 100_000; i++) {
      const next: BoxNode = { type: 'trak', children: [] };
      cur.children!.push(next);
      cur = next;
    }
    cur.children!.push({ type: 'stbl', children: [] });
    expect(collectNodes(root, 'stbl')).toHaveLength(1);
  });

  it('broken SPS/PPS/AudioSpecificConfig are clear errors, not BitstreamEnd', () => {
    expect(() => parsePps(Buffer.from([0x68]), 0, 1)).toThrow(new Mp4FormatError('PPS NAL unit (1 byte) ends inside its fields'));
    expect(() => parseSps(Buffer.from([0x67, 0x42]), 0, 2)).toThrow(new Mp4FormatError('SPS NAL unit (2 bytes) ends inside its fields'));
    expect(() => parseSps(Buffer.from([0x67]), 0, 40)).toThrow(Mp4FormatError); // end past the buffer
    expect(() => parsePps(Buffer.alloc(0), 0, 0)).toThrow(new Mp4FormatError('PPS NAL unit is empty'));
    expect(() => parseSps(Buffer.from([0x67, 0x42, 0, 0x1e, 0, 0, 0, 0, 0, 0]), 0, 10)).toThrow(/SPS: an exp-Golomb code \(ue\(v\)\) with more than 31 leading zeros/);
    expect(() => parseAudioSpecificConfig(Buffer.from([0x12]))).toThrow(new Mp4FormatError('AudioSpecificConfig (1 byte) ends inside its fields'));
    const aac = new AacFrameParser(parseAudioSpecificConfig(Buffer.from([0x15, 0x88])));
    const junk = randomBuffer(20_000, prng(5));
    for (let at = 0; at < junk.length; at += 7) expect(aac.frameLength(junk, at, junk.length)).toBeGreaterThanOrEqual(-1);
  });
});

describe('classify: consistent tables and fragments, or corrupt', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-consistency-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const classify = async (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    writeFileSync(f, bytes);
    return classifyMp4(f);
  };

  it('the corpus files classify as before', async () => {
    const kinds: Record<string, string> = {};
    for (const n of ['faststart-av.mp4', 'faststart-v-baseline.mp4', 'plain-av.mp4', 'frag-av.mp4', 'frag-v.mp4', 'frag-abs.mp4', 'frag-alaw.mov', 'nomoov-av.mp4']) kinds[n] = (await classify(n, corpusFile(n))).kind;
    expect(kinds).toEqual({
      'faststart-av.mp4': 'clean',
      'faststart-v-baseline.mp4': 'clean',
      'plain-av.mp4': 'moov-at-end',
      'frag-av.mp4': 'fragmented-clean',
      'frag-v.mp4': 'fragmented-clean',
      'frag-abs.mp4': 'fragmented-clean',
      'frag-alaw.mov': 'fragmented-clean',
      'nomoov-av.mp4': 'no-moov',
    });
  });

  it(`more than ${LIMITS.maxTopLevelBoxes} top-level boxes: corrupt, the scan stops there`, async () => {
    const n = LIMITS.maxTopLevelBoxes + 50_000;
    const b = Buffer.alloc(16 + n * 8);
    b.writeUInt32BE(16, 0);
    b.write('ftypisom', 4, 'latin1');
    for (let i = 0; i < n; i++) {
      b.writeUInt32BE(8, 16 + i * 8);
      b.write('free', 20 + i * 8, 'latin1');
    }
    const c = await classify('flat.mp4', b);
    expect(c.kind).toBe('garbage');
    expect(c.reason).toBe(`Corrupt MP4: more than ${LIMITS.maxTopLevelBoxes} top-level boxes (the next at offset ${16 + (LIMITS.maxTopLevelBoxes - 1) * 8}): not a recording.`);
  });

  it('a moov larger than the scan window: fragments checked after the scan, with the same result', async () => {
    const grown = (b: Buffer) => {
      const moov = boxPath(b, ['moov']);
      const pad = box('free', Buffer.alloc(40_000));
      const out = Buffer.concat([b.subarray(0, moov.end), pad, b.subarray(moov.end)]);
      out.writeUInt32BE(moov.size + pad.length, moov.offset);
      return out;
    };
    expect((await classify('big-moov.mp4', grown(corpusFile('frag-av.mp4')))).kind).toBe('fragmented-clean');
    const bad = Buffer.from(corpusFile('frag-av.mp4'));
    bad.writeUInt32BE(0x00010098, boxPath(bad, ['moof', 'traf', 'trun'], 2).start + 2);
    const c = await classify('big-moov-bad.mp4', grown(bad));
    expect(c.kind).toBe('garbage');
    expect(c.reason).toMatch(/^Corrupt MP4: trun in moof #3 \(track 1\) declares \d+ samples but its mdat holds only \d+ bytes\.$/);
  });

  const stbl = ['moov', 'trak', 'mdia', 'minf', 'stbl'];
  const edit = (name: string, f: (b: Buffer) => void) => {
    const b = Buffer.from(corpusFile(name));
    f(b);
    return b;
  };

  it.each([
    ['a chunk offset outside the mdat', 'faststart-av.mp4', (b: Buffer) => b.writeUInt32BE(b.length + 100, boxPath(b, [...stbl, 'stco']).start + 8), /Corrupt MP4: track 1 chunk 1 \(\d+ bytes at offset \d+\) is not inside an mdat of the file\./],
    ['stts and stsz disagree', 'faststart-av.mp4', (b: Buffer) => b.writeUInt32BE(b.readUInt32BE(boxPath(b, [...stbl, 'stts']).start + 8) + 1, boxPath(b, [...stbl, 'stts']).start + 8), /stts gives durations for \d+ samples but stsz declares \d+/],
    ['stsc starts past chunk 1', 'plain-av.mp4', (b: Buffer) => b.writeUInt32BE(2, boxPath(b, [...stbl, 'stsc']).start + 8), /stsc entry #1 starts at chunk 2 \(the first must start at 1\)/],
    ['stss out of order', 'faststart-av.mp4', (b: Buffer) => b.writeUInt32BE(0xffff, boxPath(b, [...stbl, 'stss']).start + 8), /stss entry #1 is sample 65535/],
    ['a trun pointing past its mdat', 'frag-av.mp4', (b: Buffer) => b.writeInt32BE(1 << 20, boxPath(b, ['moof', 'traf', 'trun']).start + 8), /trun in moof #1 \(track 1\) puts its \d+ samples at bytes \d+-\d+ of the file, outside its mdat's payload/],
    ['a traf for a track the moov lacks', 'frag-av.mp4', (b: Buffer) => b.writeUInt32BE(9, boxPath(b, ['moof', 'traf', 'tfhd']).start + 4), /traf in moof #1 is for track 9, which the moov does not declare/],
    ['an stsd with fewer entries than declared', 'frag-v.mp4', (b: Buffer) => b.writeUInt32BE(2, boxPath(b, [...stbl, 'stsd']).start + 4), /track 1 stsd declares 2 sample entries but holds 1/],
  ] as const)('%s', async (_name, seed, f, reason) => {
    const c = await classify(`${_name.replace(/\W+/g, '-')}.mp4`, edit(seed, f));
    expect(c.kind).toBe('garbage');
    expect(c.reason).toMatch(reason);
  });
});
