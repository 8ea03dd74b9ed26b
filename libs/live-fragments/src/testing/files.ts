// Helpers for the file-following tests: a writer that plays ffmpeg, a recording consumer, decoding.
import { execFile } from 'node:child_process';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { LiveEvent, LiveFragmentEvent, LiveInitEvent } from '../events.js';
import { nodeLiveFs, type LiveFs } from '../live-fragment-stream.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Appends to a file like ffmpeg does (a new file, bytes written in order). */
export class SimWriter {
  private constructor(private readonly fh: FileHandle) {}
  written = 0;
  static async create(file: string): Promise<SimWriter> {
    return new SimWriter(await open(file, 'w'));
  }
  async append(b: Buffer): Promise<number> {
    let p = 0;
    while (p < b.length) p += (await this.fh.write(b, p, b.length - p)).bytesWritten;
    this.written += b.length;
    return Date.now();
  }
  /** Appends in pieces of the given sizes (cycled), pausing `pauseMs` every `every` pieces. */
  async appendInChunks(b: Buffer, sizes: number[], pauseMs = 0, every = 4): Promise<void> {
    for (let p = 0, i = 0; p < b.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, b.length - p);
      await this.append(b.subarray(p, p + n));
      p += n;
      if (pauseMs > 0 && i % every === every - 1) await sleep(pauseMs);
    }
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

export interface Received {
  e: LiveEvent;
  at: number;
}

/** A consumer that records what it gets (optionally slow). */
export function recorder(slowMs = 0) {
  const got: Received[] = [];
  return {
    got,
    consumer: (e: LiveEvent) => {
      got.push({ e, at: Date.now() });
      return slowMs > 0 ? sleep(slowMs) : undefined;
    },
    fragments: () => got.map((g) => g.e).filter((e): e is LiveFragmentEvent => e.type === 'fragment'),
    inits: () => got.map((g) => g.e).filter((e): e is LiveInitEvent => e.type === 'init'),
    types: () => got.map((g) => g.e.type),
    async until(pred: (got: Received[]) => boolean, ms = 5000): Promise<void> {
      const end = Date.now() + ms;
      while (!pred(got)) {
        if (Date.now() > end) throw new Error(`timed out; got ${got.map((g) => brief(g.e)).join(' ')}`);
        await sleep(5);
      }
    },
  };
}

export function brief(e: LiveEvent): string {
  switch (e.type) {
    case 'fragment':
      return `${e.keyframe ? 'K' : 'f'}@${e.offset}`;
    case 'init':
      return `init(${e.reason},${e.configChanged})`;
    case 'segment-end':
      return `end(${e.reason})`;
    case 'gap':
      return `gap(${e.droppedFragments})`;
    case 'error':
      return `error(${e.message})`;
  }
}

/** Decodes init + fragments with ffmpeg: '' when it decodes without a single error. */
export async function decodeErrors(dir: string, name: string, parts: Buffer[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, Buffer.concat(parts));
  const r = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return r.code === 0 ? r.stderr.trim() : `exit ${r.code}: ${r.stderr.trim()}`;
}

/** The node fs, counting every call the stream makes. */
export function countingFs() {
  const calls = { open: 0, stat: 0, fstat: 0, read: 0, watch: 0, close: 0 };
  const fs: LiveFs = {
    async open(file) {
      calls.open++;
      const fh = await nodeLiveFs.open(file);
      return {
        stat: () => (calls.fstat++, fh.stat()),
        read: (b, o, l, p) => (calls.read++, fh.read(b, o, l, p)),
        close: () => (calls.close++, fh.close()),
      };
    },
    stat: (file) => (calls.stat++, nodeLiveFs.stat(file)),
    watch: (file, onEvent, onError) => (calls.watch++, nodeLiveFs.watch(file, onEvent, onError)),
  };
  const total = () => calls.open + calls.stat + calls.fstat + calls.read + calls.watch;
  return { fs, calls, total };
}
