import { describe, expect, it } from 'vitest';
import { executePrune } from './execute.js';

describe('executePrune', () => {
  it('an empty plan is nothing to do, even before the recordings folder exists (a fresh install)', async () => {
    await expect(executePrune([], { recordingsDir: '/nonexistent/recordings' })).resolves.toMatchObject({ deleted: 0, bytes: 0, skipped: [] });
  });
});
