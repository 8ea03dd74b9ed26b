// A deterministic mutation fuzzer for the MP4 parser (not used by the library): seeds are the small real
// files of libs/mp4/fuzz/corpus; each input is a seed with 1-4 mutations (bit flips, interesting values,
// size fields, count/flag fields of table boxes, box duplication/removal/splicing/nesting/truncation,
// random payloads in correct framing), all drawn from a PRNG seeded by (seed, index), so any input can
// be regenerated from those two numbers. Every input goes through every entry point; an input fails when
// one of them throws anything but a clear error, takes too long, or a repair "succeeds" with an output
// that does not classify as playable (or empty).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AacFrameParser, parseAudioSpecificConfig } from '../aac-frame.js';
import { CONTAINER_TYPES, parseBoxes, walkBoxes } from '../box-tree.js';
import { classifyMp4 } from '../classify.js';
import { inspectFragment, inspectMoov } from '../consistency.js';
import { Mp4FormatError } from '../errors.js';
import { faststart } from '../faststart.js';
import { describeFragment, trimPartialFragment } from '../fragment-trim.js';
import { parsePps, parseSps } from '../h264-nal.js';
import { rebuildMoov } from '../rebuild-moov.js';
import { readReferenceLayout } from '../reference.js';
import { decoderSpecificInfo, parseAvcC } from '../sample-entry.js';
import { parseTfhd, parseTrun, readTrun } from '../trun.js';
import { parseBox } from '../box-tree.js';
import { CORPUS_DIR, prng } from './hostile.js';

export const CRASHERS_DIR = path.join(import.meta.dirname, '../../fuzz/crashers');

export interface Seed {
  name: string;
  bytes: Buffer;
}

export function loadSeeds(dir = CORPUS_DIR): Seed[] {
  return readdirSync(dir)
    .filter((f) => /\.(mp4|mov)$/.test(f))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(path.join(dir, name)) }));
}

// ---------------------------------------------------------------------------------------------
// Mutations

interface BoxRef {
  type: string;
  offset: number;
  size: number;
  headerSize: number;
  /** Offsets of the enclosing boxes (outermost first), whose sizes change when this one does. */
  parents: number[];
  container: boolean;
}

/** A tolerant walk of whatever box structure the bytes have (stops a level at the first bad header). */
export function mapBoxes(b: Buffer): BoxRef[] {
  const out: BoxRef[] = [];
  const stack: Array<{ end: number; parents: number[] }> = [{ end: b.length, parents: [] }];
  let p = 0;
  while (stack.length > 0 && out.length < 5000) {
    const level = stack[stack.length - 1]!;
    if (p + 8 > level.end) {
      p = level.end;
      stack.pop();
      continue;
    }
    let size = b.readUInt32BE(p);
    let headerSize = 8;
    if (size === 1 && p + 16 <= level.end) {
      size = Number(b.readBigUInt64BE(p + 8));
      headerSize = 16;
    } else if (size === 0) size = level.end - p;
    const type = b.toString('latin1', p + 4, p + 8);
    if (size < headerSize || p + size > level.end || !/^[\x20-\x7e]{4}$/.test(type)) {
      p = level.end;
      stack.pop();
      continue;
    }
    const container = CONTAINER_TYPES.has(type) && headerSize === 8;
    out.push({ type, offset: p, size, headerSize, parents: level.parents, container });
    if (container && stack.length < 40) {
      stack.push({ end: p + size, parents: [...level.parents, p] });
      p += 8;
    } else p += size;
  }
  return out;
}

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING_U32 = [0, 1, 2, 7, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 9_999_999, 0x00010098];
/** Boxes whose first 8 payload bytes are version/flags and an entry count worth hitting directly. */
const TABLE_TYPES = new Set(['trun', 'tfhd', 'stsz', 'stz2', 'stco', 'co64', 'stts', 'ctts', 'stss', 'stsc', 'stsd', 'elst', 'trex', 'tfdt', 'mdhd', 'tkhd', 'hdlr', 'avcC', 'esds', 'mfhd', 'sgpd', 'sbgp']);

export interface Mutated {
  seed: string;
  ops: string[];
  bytes: Buffer;
}

/** Input `index` of a run with `seed`: the same pair always gives the same bytes. */
export function mutate(seeds: readonly Seed[], seed: number, index: number): Mutated {
  const rand = prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const source = pick(seeds);
  let b = Buffer.from(source.bytes);
  const ops: string[] = [];
  const n = 1 + int(4);
  const u32 = () => (rand() < 0.7 ? pick(INTERESTING_U32) : Math.floor(rand() * 0x100000000));

  /** Adds `delta` to the 32-bit sizes of the boxes at `parents` (keeps the framing around an edit valid). */
  const fixParents = (buf: Buffer, parents: number[], delta: number) => {
    for (const at of parents) {
      const s = buf.readUInt32BE(at);
      if (s >= 8 && s + delta >= 8 && s + delta <= 0xffffffff) buf.writeUInt32BE(s + delta, at);
    }
  };
  const insert = (at: number, bytes: Buffer, parents: number[]) => {
    const out = Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
    if (rand() < 0.85) fixParents(out, parents, bytes.length);
    return out;
  };

  for (let k = 0; k < n; k++) {
    const boxes = mapBoxes(b);
    const anyBox = boxes.length ? pick(boxes) : undefined;
    const op = int(14);
    if (b.length === 0) break;
    switch (op) {
      case 0: {
        const flips = 1 + int(8);
        for (let i = 0; i < flips; i++) {
          const at = int(b.length);
          b[at]! ^= 1 << int(8);
        }
        ops.push(`flip ${flips} bits`);
        break;
      }
      case 1: {
        const at = int(b.length);
        const v = pick(INTERESTING_U8);
        b[at] = v;
        ops.push(`byte ${at}=${v}`);
        break;
      }
      case 2: {
        if (b.length < 4) break;
        const at = int(b.length - 3);
        const v = u32();
        b.writeUInt32BE(v >>> 0, at);
        ops.push(`u32 ${at}=${v}`);
        break;
      }
      case 3: {
        if (!anyBox) break;
        const choices = [0, 1, 7, 8, anyBox.size - 1, anyBox.size + 1, anyBox.size * 2, 0xffffffff, b.length - anyBox.offset, anyBox.headerSize, anyBox.size + 8];
        const v = pick(choices) >>> 0;
        b.writeUInt32BE(v, anyBox.offset);
        ops.push(`size of ${anyBox.type}@${anyBox.offset}=${v}`);
        break;
      }
      case 4:
      case 5: {
        const tables = boxes.filter((x) => TABLE_TYPES.has(x.type) && x.size - x.headerSize >= 4);
        if (!tables.length) break;
        const t = pick(tables);
        const payload = t.offset + t.headerSize;
        const len = t.size - t.headerSize;
        const field = rand() < 0.6 ? pick([0, 4].filter((o) => o + 4 <= len)) : int(Math.max(1, len - 3));
        if (rand() < 0.3) {
          // The straddling write of the review: low flag bits and the high half of the count.
          if (len >= 8) b.writeUInt32BE(u32() >>> 0, payload + 2);
          ops.push(`${t.type}@${t.offset} flags/count straddle`);
        } else if (payload + field + 4 <= t.offset + t.size) {
          b.writeUInt32BE(u32() >>> 0, payload + field);
          ops.push(`${t.type}@${t.offset} field +${field}`);
        }
        break;
      }
      case 6: {
        if (!anyBox) break;
        const copy = Buffer.from(b.subarray(anyBox.offset, anyBox.offset + anyBox.size));
        b = insert(anyBox.offset + anyBox.size, copy, anyBox.parents);
        ops.push(`duplicate ${anyBox.type}@${anyBox.offset}`);
        break;
      }
      case 7: {
        if (!anyBox || anyBox.offset === 0) break;
        b = Buffer.concat([b.subarray(0, anyBox.offset), b.subarray(anyBox.offset + anyBox.size)]);
        if (rand() < 0.85) fixParents(b, anyBox.parents, -anyBox.size);
        ops.push(`remove ${anyBox.type}@${anyBox.offset}`);
        break;
      }
      case 8: {
        const at = rand() < 0.5 && anyBox ? anyBox.offset + int(Math.min(anyBox.size, 64)) : int(b.length);
        b = b.subarray(0, at);
        ops.push(`truncate at ${at}`);
        break;
      }
      case 9: {
        // Splice in a box from another seed, at a box boundary.
        const other = mapBoxes(pick(seeds).bytes);
        if (!other.length || !anyBox) break;
        const donor = pick(other);
        const src = seeds.find((s) => s.bytes.length >= donor.offset + donor.size && s.bytes.readUInt32BE(donor.offset) === (donor.headerSize === 8 ? donor.size : 1));
        if (!src) break;
        b = insert(anyBox.offset, Buffer.from(src.bytes.subarray(donor.offset, donor.offset + donor.size)), anyBox.parents);
        ops.push(`splice ${donor.type} from ${src.name} before ${anyBox.type}@${anyBox.offset}`);
        break;
      }
      case 10: {
        // Nest a box in containers (a few, or far past the depth limit).
        if (!anyBox) break;
        const depth = rand() < 0.7 ? 1 + int(40) : 100 + int(3000);
        const type = pick([...CONTAINER_TYPES]);
        const inner = b.subarray(anyBox.offset, anyBox.offset + anyBox.size);
        const wrap = Buffer.alloc(depth * 8 + inner.length);
        for (let i = 0; i < depth; i++) {
          wrap.writeUInt32BE(wrap.length - i * 8, i * 8);
          wrap.write(type, i * 8 + 4, 'latin1');
        }
        inner.copy(wrap, depth * 8);
        b = Buffer.concat([b.subarray(0, anyBox.offset), wrap, b.subarray(anyBox.offset + anyBox.size)]);
        if (rand() < 0.85) fixParents(b, anyBox.parents, depth * 8);
        ops.push(`nest ${anyBox.type}@${anyBox.offset} in ${depth} '${type}'`);
        break;
      }
      case 11: {
        // Random contents in correct framing: a leaf's payload replaced by random bytes.
        const leaves = boxes.filter((x) => !x.container && x.type !== 'mdat');
        if (!leaves.length) break;
        const l = pick(leaves);
        for (let i = l.offset + l.headerSize; i < l.offset + l.size; i++) b[i] = int(256);
        ops.push(`randomize ${l.type}@${l.offset}`);
        break;
      }
      case 12: {
        // Swap two siblings.
        const sibs = anyBox ? boxes.filter((x) => x !== anyBox && x.parents.length === anyBox.parents.length && x.parents.at(-1) === anyBox.parents.at(-1)) : [];
        if (!anyBox || !sibs.length) break;
        const other = pick(sibs);
        const [first, second] = anyBox.offset < other.offset ? [anyBox, other] : [other, anyBox];
        if (first.offset + first.size > second.offset) break;
        b = Buffer.concat([
          b.subarray(0, first.offset),
          b.subarray(second.offset, second.offset + second.size),
          b.subarray(first.offset + first.size, second.offset),
          b.subarray(first.offset, first.offset + first.size),
          b.subarray(second.offset + second.size),
        ]);
        ops.push(`swap ${first.type}@${first.offset} and ${second.type}@${second.offset}`);
        break;
      }
      default: {
        // A run of random bytes over part of the file.
        const at = int(b.length);
        const len = Math.min(b.length - at, 1 + int(64));
        for (let i = at; i < at + len; i++) b[i] = int(256);
        ops.push(`random ${len} bytes at ${at}`);
      }
    }
  }
  return { seed: source.name, ops, bytes: b };
}

// ---------------------------------------------------------------------------------------------
// Running one input

export type EntryName =
  | 'classify'
  | 'trim'
  | 'faststart'
  | 'rebuild'
  | 'reference'
  | 'rebuild-with-it-as-reference'
  | 'parseBoxes'
  | 'parseTrun'
  | 'parseTfhd'
  | 'parseAvcC'
  | 'parseSps/parsePps'
  | 'esds/AudioSpecificConfig'
  | 'AacFrameParser'
  | 'fragment-check';

export interface Failure {
  entry: EntryName;
  problem: string;
}

export interface InputResult {
  failures: Failure[];
  /** Slowest entry point and its time. */
  slowest: { entry: EntryName; ms: number };
  /** What classify said, and per entry point: calls, calls that threw a (clear) error, time. */
  kind?: string;
  entries: Map<EntryName, { calls: number; errors: number; ms: number }>;
}

export interface FuzzContext {
  /** A folder of this run's temp files (the caller creates and removes it). */
  dir: string;
  /** A valid reference for rebuildMoov. */
  reference: string;
  /** A valid file without moov, rebuilt with each input as its reference. */
  noMoov: string;
  /** Longest time one entry point may take on one input. */
  maxMs: number;
}

const PLAYABLE_OR_EMPTY = new Set(['clean', 'fragmented-clean', 'empty']);

/** Why an exception is not one of the parser's clear errors (undefined: it is). */
export function unclear(e: unknown): string | undefined {
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  const code = (e as NodeJS.ErrnoException).code;
  const head = `${e.name}${code ? ` [${code}]` : ''}: ${e.message}`;
  if (e instanceof Mp4FormatError ? e.internal : e.constructor !== Error) return head;
  if (code?.startsWith('ERR_')) return head;
  if (!e.message.trim()) return `${e.name} with an empty message`;
  return badMessage(e.message) ? `unclear message: ${head}` : undefined;
}

/** Messages that betray a bug even when the error type is right. */
function badMessage(m: string): boolean {
  return m.includes('\n') || /\bundefined\b|\bNaN\b|Maximum call stack|ERR_OUT_OF_RANGE|ERR_BUFFER_OUT_OF_BOUNDS|internal parser error/.test(m);
}

/** Every box payload of `type` found by name in `b` (whatever the structure around it). */
function payloadsOf(b: Buffer, type: string, max = 8): Buffer[] {
  const out: Buffer[] = [];
  for (let i = b.indexOf(type, 4, 'latin1'); i >= 4 && out.length < max; i = b.indexOf(type, i + 1, 'latin1')) {
    const size = b.readUInt32BE(i - 4);
    const end = size >= 8 ? Math.min(b.length, i - 4 + size) : b.length;
    out.push(b.subarray(i + 4, Math.max(i + 4, end)));
  }
  return out;
}

const VALID_ASC = Buffer.from([0x15, 0x88]); // AAC-LC, 8 kHz, mono (the corpus' audio)

/** `n` copies of `p` with a few random bytes changed or cut short (for the parsers of small boxes). */
function variants(p: Buffer, rand: () => number, n = 3): Buffer[] {
  const out: Buffer[] = [];
  for (let k = 0; k < n && p.length > 0; k++) {
    let v = Buffer.from(p);
    const edits = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(rand() * v.length);
      v[at] = rand() < 0.5 ? INTERESTING_U8[Math.floor(rand() * INTERESTING_U8.length)]! : Math.floor(rand() * 256);
    }
    if (rand() < 0.4) v = v.subarray(0, Math.floor(rand() * v.length));
    out.push(v);
  }
  return out;
}

export async function runInput(bytes: Buffer, ctx: FuzzContext, name: string, seed = 0): Promise<InputResult> {
  const rand = prng(seed ^ 0x5bd1e995);
  const failures: Failure[] = [];
  let slowest: InputResult['slowest'] = { entry: 'classify', ms: 0 };
  const entries: InputResult['entries'] = new Map();
  let kind: string | undefined;
  const input = path.join(ctx.dir, `${name}.mp4`);
  const out = path.join(ctx.dir, `${name}.out.mp4`);
  await writeFile(input, bytes);

  const timed = async (entry: EntryName, f: () => unknown): Promise<unknown> => {
    const t0 = performance.now();
    let value: unknown;
    let threw = false;
    try {
      value = await f();
    } catch (e) {
      threw = true;
      const why = unclear(e);
      if (why) failures.push({ entry, problem: why });
    }
    const ms = performance.now() - t0;
    const st = entries.get(entry) ?? { calls: 0, errors: 0, ms: 0 };
    entries.set(entry, { calls: st.calls + 1, errors: st.errors + (threw ? 1 : 0), ms: st.ms + ms });
    if (ms > slowest.ms) slowest = { entry, ms };
    if (ms > ctx.maxMs) failures.push({ entry, problem: `took ${ms.toFixed(0)} ms (limit ${ctx.maxMs})` });
    return value;
  };
  /** A repair that succeeds must write a file that classifies as playable (or empty). */
  const repaired = async (entry: EntryName, f: () => Promise<unknown>) => {
    await rm(out, { force: true });
    const r = await timed(entry, f);
    if (r === undefined) return;
    const c = await classifyMp4(out);
    if (!PLAYABLE_OR_EMPTY.has(c.kind)) failures.push({ entry, problem: `succeeded but its output is ${c.kind}: ${c.reason}` });
  };

  try {
    const c = (await timed('classify', () => classifyMp4(input))) as Awaited<ReturnType<typeof classifyMp4>> | undefined;
    kind = c?.kind;
    if (!c) failures.push({ entry: 'classify', problem: 'threw instead of classifying' });
    else if (badMessage(c.reason)) failures.push({ entry: 'classify', problem: `unclear reason: ${c.reason}` });
    await repaired('trim', () => trimPartialFragment(input, out));
    await repaired('faststart', () => faststart(input, out));
    await repaired('rebuild', () => rebuildMoov(input, out, { reference: ctx.reference }));
    await timed('reference', () => readReferenceLayout(input));
    await repaired('rebuild-with-it-as-reference', () => rebuildMoov(ctx.noMoov, out, { reference: input }));
  } finally {
    await rm(input, { force: true });
    await rm(out, { force: true });
  }

  // Buffer entry points, on whatever the mutation left where the boxes were.
  await timed('parseBoxes', () => parseBoxes(bytes, 0, bytes.length));
  for (const p of payloadsOf(bytes, 'trun', 4).flatMap((x) => [x, ...variants(x, rand, 2)])) {
    await timed('parseTrun', () => parseTrun(p));
    await timed('parseTrun', () => readTrun(p));
  }
  for (const p of payloadsOf(bytes, 'tfhd', 4).flatMap((x) => [x, ...variants(x, rand, 2)])) await timed('parseTfhd', () => parseTfhd(p));
  for (const p of payloadsOf(bytes, 'avcC', 2).flatMap((x) => [x, ...variants(x, rand, 4)])) {
    await timed('parseAvcC', () => parseAvcC(p));
    // Each parameter set on its own, at its declared length and cut short.
    if (p.length >= 8) {
      const spsLen = p.readUInt16BE(6);
      await timed('parseSps/parsePps', () => parseSps(p, 8, 8 + spsLen));
      await timed('parseSps/parsePps', () => parseSps(p, 8, 8 + (spsLen >> 1)));
      const ppsAt = 8 + spsLen + 1;
      if (ppsAt + 2 <= p.length) {
        const ppsLen = p.readUInt16BE(ppsAt);
        await timed('parseSps/parsePps', () => parsePps(p, ppsAt + 2, ppsAt + 2 + ppsLen));
        await timed('parseSps/parsePps', () => parsePps(p, ppsAt + 2, ppsAt + 2 + (ppsLen >> 1)));
      }
    }
  }
  const ascs: Buffer[] = [VALID_ASC];
  for (const p of payloadsOf(bytes, 'esds', 2).flatMap((x) => [x, ...variants(x, rand, 3)])) {
    const dsi = (await timed('esds/AudioSpecificConfig', () => decoderSpecificInfo(p.subarray(4)))) as Buffer | undefined;
    if (dsi) ascs.push(dsi, ...variants(dsi, rand, 2));
  }
  const mdats = payloadsOf(bytes, 'mdat', 2);
  for (const asc of ascs) {
    const parsed = (await timed('esds/AudioSpecificConfig', () => parseAudioSpecificConfig(asc))) as ReturnType<typeof parseAudioSpecificConfig> | undefined;
    if (!parsed) continue;
    const parser = (await timed('AacFrameParser', () => new AacFrameParser(parsed))) as AacFrameParser | undefined;
    if (!parser) continue;
    await timed('AacFrameParser', () => {
      for (const m of mdats) for (let at = 0; at < m.length; at += 211) parser.frameLength(m, at, m.length);
    });
  }
  await timed('fragment-check', () => {
    const problem = fragmentPathsDisagree(bytes);
    if (problem) failures.push({ entry: 'fragment-check', problem });
  });
  return { failures, slowest, entries, ...(kind ? { kind } : {}) };
}

/**
 * Differential check of classify's byte-level moof check against describeFragment (what trim and
 * the reference reader use): for every moof after the moov, both must accept it with the same sample
 * extents, or both reject it.
 */
export function fragmentPathsDisagree(b: Buffer): string | undefined {
  const top: Array<{ type: string; offset: number; end: number }> = [];
  try {
    walkBoxes(b, 0, b.length, 0, (depth, type, offset, _h, end) => {
      if (depth === 0) top.push({ type, offset, end });
    });
  } catch {
    /* whatever parsed before the bad box is enough */
  }
  const moovBox = top.find((x) => x.type === 'moov');
  if (!moovBox) return undefined;
  let facts: ReturnType<typeof inspectMoov>;
  try {
    facts = inspectMoov(parseBox(b.subarray(moovBox.offset, moovBox.end), moovBox.offset));
  } catch {
    return undefined;
  }
  let k = 0;
  for (const m of top) {
    if (m.type !== 'moof' || m.offset < moovBox.offset) continue;
    k++;
    const bytes = b.subarray(m.offset, m.end);
    let fast: string;
    let slow: string;
    try {
      fast = JSON.stringify(inspectFragment(bytes, m.offset, k, facts).map((r) => [r.track, r.count, r.start, r.end]));
    } catch (e) {
      fast = `error ${(e as Error).message}`;
    }
    try {
      const tracks = describeFragment(parseBox(bytes, m.offset), m.offset, facts.trex, `moof #${k}`);
      const unknown = tracks.find((t) => !facts.trackIds.has(t.tfhd.trackId));
      if (unknown) throw new Error(`track ${unknown.tfhd.trackId}`);
      for (const t of tracks) {
        const tfdt = t.node.children?.find((c) => c.type === 'tfdt')?.payload;
        if (tfdt && tfdt.length < (tfdt[0] === 1 ? 12 : 8)) throw new Error('tfdt');
      }
      slow = JSON.stringify(tracks.flatMap((t) => t.runs.map((r) => [t.tfhd.trackId, r.count, r.first, r.end])));
    } catch (e) {
      slow = `error ${(e as Error).message}`;
    }
    if (fast.startsWith('error') !== slow.startsWith('error') || (!fast.startsWith('error') && fast !== slow)) {
      return `moof #${k}: classify's check gives ${fast.slice(0, 200)}, describeFragment gives ${slow.slice(0, 200)}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Runs

export interface FuzzStats {
  inputs: number;
  ms: number;
  failures: Array<{ index: number; seed: string; ops: string[]; failures: Failure[]; sha: string; bytes: Buffer }>;
  slowest: { index: number; entry: EntryName; ms: number };
  /** Peak RSS of this process during the run (VmHWM), MB. */
  peakRssMb: number;
  kinds: Map<string, number>;
  entries: Map<EntryName, { calls: number; errors: number; ms: number }>;
}

export function vmHwmMb(): number {
  const s = readFileSync('/proc/self/status', 'utf8');
  return Number(/^VmHWM:\s+(\d+)/m.exec(s)?.[1] ?? 0) / 1024;
}

export function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * Runs inputs start .. start+iterations-1 of `seed`, `concurrency` at a time (the entry points mostly
 * wait on file I/O; every input is independent, so the results do not depend on it).
 */
export async function runFuzz(opts: { seeds: Seed[]; seed: number; iterations: number; start?: number; concurrency?: number; ctx: FuzzContext; onProgress?(done: number, stats: FuzzStats): void }): Promise<FuzzStats> {
  const stats: FuzzStats = { inputs: 0, ms: 0, failures: [], slowest: { index: -1, entry: 'classify', ms: 0 }, peakRssMb: 0, kinds: new Map(), entries: new Map() };
  const t0 = performance.now();
  const first = opts.start ?? 0;
  const end = first + opts.iterations;
  let next = first;
  const worker = async () => {
    while (next < end) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  stats.failures.sort((a, b) => a.index - b.index);
  stats.ms = performance.now() - t0;
  stats.peakRssMb = vmHwmMb();
  return stats;

  async function one(i: number): Promise<void> {
    const m = mutate(opts.seeds, opts.seed, i);
    const r = await runInput(m.bytes, opts.ctx, `in${i}`, i);
    stats.inputs++;
    if (r.kind) stats.kinds.set(r.kind, (stats.kinds.get(r.kind) ?? 0) + 1);
    for (const [e, x] of r.entries) {
      const st = stats.entries.get(e) ?? { calls: 0, errors: 0, ms: 0 };
      stats.entries.set(e, { calls: st.calls + x.calls, errors: st.errors + x.errors, ms: st.ms + x.ms });
    }
    if (r.slowest.ms > stats.slowest.ms) stats.slowest = { index: i, ...r.slowest };
    if (r.failures.length) stats.failures.push({ index: i, seed: m.seed, ops: m.ops, failures: r.failures, sha: sha(m.bytes), bytes: m.bytes });
    if (opts.onProgress && stats.inputs % 1000 === 0) {
      stats.ms = performance.now() - t0;
      opts.onProgress(stats.inputs, stats);
    }
  }
}

/** Saves a failing input as libs/mp4/fuzz/crashers/<sha>.mp4, with what failed in <sha>.txt. */
export function saveCrasher(f: FuzzStats['failures'][number], seed: number, dir = CRASHERS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${f.sha}.mp4`);
  writeFileSync(file, f.bytes);
  writeFileSync(
    path.join(dir, `${f.sha}.txt`),
    `seed ${seed} input ${f.index}: ${f.seed} + ${f.ops.join('; ')}\n${f.failures.map((x) => `${x.entry}: ${x.problem}`).join('\n')}\n`,
  );
  return file;
}
