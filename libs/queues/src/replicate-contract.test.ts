import { describe, expect, it } from 'vitest';
import { REPLICATE_JOB_OPTIONS } from './replicate-contract.js';

describe('replicate job contract', () => {
  it('options: many attempts, bounded history', () => {
    expect(REPLICATE_JOB_OPTIONS.attempts).toBeGreaterThanOrEqual(1000);
    expect(REPLICATE_JOB_OPTIONS.removeOnComplete).toEqual({ age: 86_400, count: 5000 });
    expect(REPLICATE_JOB_OPTIONS.removeOnFail).toEqual({ age: 7 * 86_400 });
  });
});
