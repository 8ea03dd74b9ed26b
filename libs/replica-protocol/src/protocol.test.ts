import { describe, expect, it } from 'vitest';
import { RECEIVE_PATH, segmentUrl } from './protocol.js';

describe('replica protocol', () => {
  it('builds the segment URL below the board URL', () => {
    expect(segmentUrl('https://office:3000', 'cam1', 'cam1-20261127T031205Z.mp4').href).toBe('https://office:3000/api/replica/segments/cam1/cam1-20261127T031205Z.mp4');
    expect(segmentUrl('https://proxy/recorder/', 'cam1', 'x y.mp4').pathname).toBe('/recorder/api/replica/segments/cam1/x%20y.mp4');
    expect(segmentUrl('https://office:3000/?a=1#b', 'cam1', 'a.mp4').href).toBe(`https://office:3000${RECEIVE_PATH}/cam1/a.mp4`);
  });
});
