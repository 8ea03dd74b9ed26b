import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSegmentFileName } from '@tapo/storage';
import { KeyedMutex, isPartialName, partialPathFor, placeNoClobber, regularFileSize, sha256File } from './durable-file.js';

describe('durable file', () => {
  it('temp names are dot files that never parse as a segment name', () => {
    const temp = partialPathFor('/rec/cam1/2026-11-27/cam1-20261127T031205Z.mp4');
    expect(path.dirname(temp)).toBe('/rec/cam1/2026-11-27');
    expect(isPartialName(path.basename(temp))).toBe(true);
    expect(parseSegmentFileName(path.basename(temp))).toBeUndefined();
    expect(isPartialName('cam1-20261127T031205Z.mp4')).toBe(false);
    expect(partialPathFor('/x/a.mp4')).not.toBe(partialPathFor('/x/a.mp4'));
  });

  it('places a file only where nothing is, and hashes it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-file-'));
    const final = path.join(dir, 'a.mp4');
    const t1 = partialPathFor(final);
    writeFileSync(t1, 'first');
    expect(await regularFileSize(final)).toBeUndefined();
    expect(await placeNoClobber(t1, final)).toBe(true);
    expect(existsSync(t1)).toBe(false);
    const t2 = partialPathFor(final);
    writeFileSync(t2, 'second');
    expect(await placeNoClobber(t2, final)).toBe(false);
    expect(readFileSync(final, 'utf8')).toBe('first');
    expect(await regularFileSize(final)).toBe(5);
    expect(await regularFileSize(dir)).toBe(-1);
    expect(await sha256File(final)).toEqual({ bytes: 5, sha256: 'a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e' });
  });

  it('runs one task at a time per key', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const task = (k: string, name: string, ms: number) =>
      m.run(k, async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
      });
    await Promise.all([task('a', 'a1', 20), task('a', 'a2', 1), task('b', 'b1', 1)]);
    expect(log.indexOf('a2+')).toBeGreaterThan(log.indexOf('a1-'));
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-'));
  });
});
