import { describe, expect, it } from 'vitest';
import { generateKeyText, parseReplicaKey } from '@tapo/replica-crypto';
import { copyName, liveChunkName, parseCopyName, type CopyNaming } from '../targets/copy-names.js';
import { joinChunks } from './chunks.js';
import { groupCopies, type CopyReader, type ListedCopy } from './copies.js';
import { estimatedEnds, selectRange } from './select.js';
import { summarizeCopies } from './summary.js';

const c = (offset: number, end: number, name = `${offset}-${end}`) => ({ offset, end, name });
const ranges = (p: ReturnType<typeof joinChunks<ReturnType<typeof c>>>) => p.pieces.map((x) => [x.chunk.name, x.from, x.to]);

describe('joinChunks', () => {
  it('contiguous chunks join in order, whatever order they come in', () => {
    const p = joinChunks([c(100, 250), c(0, 100), c(250, 300)]);
    expect(ranges(p)).toEqual([
      ['0-100', 0, 100],
      ['100-250', 100, 250],
      ['250-300', 250, 300],
    ]);
    expect(p.bytes).toBe(300);
    expect(p.hole).toBeUndefined();
    expect(p.redundant).toEqual([]);
  });

  it('a sender that restarted resends from 0: overlapping chunks, the fewest that cover are read', () => {
    // first run sent 0-100, 100-200; after the restart 0-150, 150-400
    const p = joinChunks([c(0, 100), c(100, 200), c(0, 150), c(150, 400)]);
    expect(ranges(p)).toEqual([
      ['0-150', 0, 150],
      ['150-400', 150, 400],
    ]);
    expect(p.bytes).toBe(400);
    expect(p.redundant.map((x) => x.name).sort()).toEqual(['0-100', '100-200']);
    // a later chunk starting inside the previous one: only its new bytes are taken
    const q = joinChunks([c(0, 10), c(5, 20), c(8, 30)]);
    expect(ranges(q)).toEqual([
      ['0-10', 0, 10],
      ['8-30', 10, 30],
    ]);
    expect(q.redundant.map((x) => x.name)).toEqual(['5-20']);
  });

  it('duplicates and chunks inside longer ones are redundant', () => {
    const a = c(0, 100, 'a');
    const b = c(0, 100, 'b');
    const p = joinChunks([a, b, c(10, 20), c(0, 50)]);
    expect(p.pieces).toHaveLength(1);
    expect(p.bytes).toBe(100);
    expect(p.redundant).toHaveLength(3);
  });

  it('stops at the first hole and says where it is', () => {
    const p = joinChunks([c(0, 100), c(100, 200), c(300, 400), c(350, 500)]);
    expect(p.bytes).toBe(200);
    expect(p.hole).toEqual({ from: 200, to: 300 });
    expect(p.beyondHole.map((x) => x.name)).toEqual(['300-400', '350-500']);
    expect(ranges(p)).toEqual([
      ['0-100', 0, 100],
      ['100-200', 100, 200],
    ]);
  });

  it('no chunk at 0: nothing joins; no chunks: nothing, no hole', () => {
    const p = joinChunks([c(50, 100)]);
    expect(p.bytes).toBe(0);
    expect(p.pieces).toEqual([]);
    expect(p.hole).toEqual({ from: 0, to: 50 });
    expect(joinChunks([])).toEqual({ pieces: [], bytes: 0, redundant: [], beyondHole: [] });
  });

  it('bad ranges are refused', () => {
    expect(() => joinChunks([c(10, 10)])).toThrow(/bad chunk range 10-10/);
    expect(() => joinChunks([c(-1, 10)])).toThrow(/bad chunk range/);
  });
});

describe('range selection', () => {
  const MIN = 60_000;
  const t0 = Date.UTC(2026, 11, 2, 10, 0);
  const e = (cameraId: string, min: number) => ({ cameraId, startMs: t0 + min * MIN });

  it('a copy ends where the next one of its camera starts, at most maxSegmentMs after its start', () => {
    const a = e('cam', 0);
    const b = e('cam', 1);
    const other = e('dog', 0.5);
    const ends = estimatedEnds([a, b, other], () => 5 * MIN);
    expect(ends.get(a)).toBe(t0 + MIN);
    expect(ends.get(b)).toBe(t0 + 6 * MIN);
    expect(ends.get(other)).toBe(t0 + 5.5 * MIN);
  });

  it('picks every copy overlapping [from, to): the one running at `from`, none starting at `to`', () => {
    const list = [e('cam', 0), e('cam', 1), e('cam', 2), e('cam', 3), e('cam', 10)];
    const picked = selectRange(list, { fromMs: t0 + 1.5 * MIN, toMs: t0 + 3 * MIN, maxSegmentMs: () => MIN });
    expect(picked.map((x) => (x.startMs - t0) / MIN)).toEqual([1, 2]);
    // the last copy before a gap counts only as long as a segment can be
    expect(selectRange(list, { fromMs: t0 + 5 * MIN, toMs: t0 + 9 * MIN, maxSegmentMs: () => MIN })).toEqual([]);
    expect(selectRange(list, { fromMs: t0 + 5 * MIN, toMs: t0 + 9 * MIN, maxSegmentMs: () => 3 * MIN }).map((x) => (x.startMs - t0) / MIN)).toEqual([3]);
    // open ends
    expect(selectRange(list, {})).toHaveLength(5);
    expect(selectRange(list, { toMs: t0 + 1 * MIN })).toHaveLength(1);
    // cameras do not bound each other; oldest first
    const mixed = selectRange([e('dog', 2), ...list], { fromMs: t0 + 2 * MIN, toMs: t0 + 2.5 * MIN, maxSegmentMs: () => MIN });
    expect(mixed.map((x) => x.cameraId)).toEqual(['cam', 'dog']);
  });
});

describe('grouping listed names into copies', () => {
  const file = 'cam-20261202T101500Z.mp4';
  const file2 = 'cam-20261202T101600Z.mp4';
  const reader = { where: 'w', label: (n: string) => n } as unknown as CopyReader;
  const listed = (naming: CopyNaming, names: [string, number][], cameras = ['cam']): ListedCopy[] =>
    names.map(([name, bytes]) => ({ name, bytes, parsed: parseCopyName(naming, name, cameras)! }));

  it('a whole copy makes its chunks redundant; chunks alone are a live copy, by offset', () => {
    const n = { prefix: 'p/' };
    const { entries, unknown } = groupCopies(
      't',
      reader,
      listed(n, [
        [liveChunkName(n, 'cam', file, 0, 100), 100],
        [copyName(n, 'cam', file), 300],
        [liveChunkName(n, 'cam', file2, 100, 250), 150],
        [liveChunkName(n, 'cam', file2, 0, 100), 100],
      ]),
    );
    expect(unknown).toEqual([]);
    expect(entries.map((x) => [x.fileName, x.kind, x.bytes])).toEqual([
      [file, 'whole', 300],
      [file2, 'live', 250],
    ]);
    expect(entries[0]!.name).toBe(copyName(n, 'cam', file));
    expect(entries[1]!.chunks!.map((x) => x.offset)).toEqual([0, 100]);
    expect(JSON.stringify(entries[0])).not.toMatch(/label/); // functions stay out of serialised entries
  });

  it('hidden names: mapped back to configured cameras; others are counted as unknown', () => {
    const key = parseReplicaKey(generateKeyText());
    const n = { prefix: '', key, hideNames: true };
    const names: [string, number][] = [
      [copyName(n, 'cam', file), 332],
      [copyName(n, 'gone', 'gone-20261202T101500Z.mp4'), 1000],
      [liveChunkName(n, 'gone', 'gone-20261202T101600Z.mp4', 0, 10), 58],
      [liveChunkName(n, 'gone', 'gone-20261202T101600Z.mp4', 10, 20), 58],
    ];
    const { entries, unknown } = groupCopies('t', reader, listed(n, names));
    expect(entries.map((x) => [x.cameraId, x.fileName, x.encrypted])).toEqual([['cam', file, true]]);
    expect(unknown).toEqual([{ nameCamera: key.cameraAlias('gone'), copies: 2, bytes: 1116 }]);
  });

  it('summary per camera: whole, live, bytes, oldest and newest start', () => {
    const n = { prefix: 'p/' };
    const { entries } = groupCopies(
      't',
      reader,
      listed(
        n,
        [
          [copyName(n, 'cam', file), 300],
          [liveChunkName(n, 'cam', file2, 0, 100), 100],
          [copyName(n, 'dog', 'dog-20261201T000000Z.mp4'), 5],
        ],
        ['cam', 'dog'],
      ),
    );
    expect(summarizeCopies(entries)).toEqual([
      { cameraId: 'cam', whole: 1, live: 1, bytes: 400, oldest: '2026-12-02T10:15:00.000Z', newest: '2026-12-02T10:16:00.000Z', encrypted: false },
      { cameraId: 'dog', whole: 1, live: 0, bytes: 5, oldest: '2026-12-01T00:00:00.000Z', newest: '2026-12-01T00:00:00.000Z', encrypted: false },
    ]);
  });
});
