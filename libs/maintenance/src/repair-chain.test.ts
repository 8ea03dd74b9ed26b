import { describe, expect, it } from 'vitest';
import { chainNext, chainStart } from './repair-chain.js';
import { decideRepair } from './repair-plan.js';

describe('repair chain positions', () => {
  it('starts at the first step with the decision fallbacks', () => {
    expect(chainStart(decideRepair('fragmented-partial', { remuxFragmented: true }))).toEqual({ step: 'trim', then: ['remux'], fallbacks: ['remux'] });
    expect(chainStart(decideRepair('clean'))).toBeUndefined();
    expect(chainStart(decideRepair('garbage'))).toBeUndefined();
  });
  it('on success goes on with `then` and drops the fallbacks; on failure takes the next fallback and keeps `then`', () => {
    const at = { step: 'trim' as const, then: ['remux' as const], fallbacks: ['remux' as const] };
    expect(chainNext(at, true)).toEqual({ step: 'remux', then: [], fallbacks: [] });
    expect(chainNext(at, false)).toEqual({ step: 'remux', then: ['remux'], fallbacks: [] });
    expect(chainNext({ step: 'remux', then: [], fallbacks: [] }, true)).toBeUndefined();
    expect(chainNext({ step: 'rebuild', then: [], fallbacks: [] }, false)).toBeUndefined();
  });
});
