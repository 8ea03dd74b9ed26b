// SequentialWriter.copyFrom: the kernel copy (cat → copy_file_range) and the copy through the
// process give the same bytes, including bytes written after the range and a short source.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNEL_COPY, SequentialWriter } from './file-io.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-kcopy-'));
const f = (n: string) => path.join(dir, n);
afterAll(() => {
  KERNEL_COPY.enabled = process.platform === 'linux';
  rmSync(dir, { recursive: true, force: true });
});

const SRC = randomBytes(KERNEL_COPY.minBytes + 3 * 1024 * 1024 + 17);

async function build(out: string, kernel: boolean): Promise<Buffer> {
  KERNEL_COPY.enabled = kernel;
  writeFileSync(f('src.bin'), SRC);
  const src = await open(f('src.bin'), 'r');
  const w = await SequentialWriter.create(out);
  try {
    await w.write(Buffer.from('head-bytes'));
    // Everything but the first 100 and the last 1000 bytes: a kernel copy copies those last ones too.
    await w.copyFrom(src, 100, SRC.length - 1100);
    await w.write(Buffer.from('tail'));
    await w.close();
  } finally {
    await src.close();
  }
  return readFileSync(out);
}

describe('SequentialWriter.copyFrom', () => {
  it('gives the same file with and without the kernel copy', async () => {
    const expected = Buffer.concat([Buffer.from('head-bytes'), SRC.subarray(100, SRC.length - 1000), Buffer.from('tail')]);
    const viaKernel = await build(f('k.bin'), true);
    const viaProcess = await build(f('p.bin'), false);
    expect(viaProcess.equals(expected)).toBe(true);
    expect(viaKernel.length).toBe(expected.length);
    expect(viaKernel.equals(expected)).toBe(true);
  });

  it('refuses a range past the end of the source either way', async () => {
    for (const kernel of [true, false]) {
      KERNEL_COPY.enabled = kernel;
      const src = await open(f('src.bin'), 'r');
      const w = await SequentialWriter.create(f(`short-${kernel}.bin`));
      await expect(w.copyFrom(src, 10, SRC.length)).rejects.toThrow(/source ended early/);
      await w.discard();
      await src.close();
    }
  });
});
