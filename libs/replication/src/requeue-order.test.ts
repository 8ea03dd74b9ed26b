import { describe, expect, it } from 'vitest';
import { RequeueOrder } from './requeue-order.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('requeue order', () => {
  it('releases parked jobs oldest segment first, each after the previous is back in wait', async () => {
    const log: string[] = [];
    const back = new Set<string>();
    const o = new RequeueOrder({
      beforeRelease: async () => void log.push('limit'),
      isBack: async (id) => back.has(id),
      pollMs: 1,
    });
    o.enter('new', 200);
    o.enter('old', 100);
    const pNew = o.park('new').then(() => {
      log.push('new');
      setTimeout(() => back.add('new'), 10);
    });
    await tick();
    expect(log).toEqual([]); // 'old' still runs
    const pOld = o.park('old').then(() => {
      log.push('old');
      setTimeout(() => back.add('old'), 10);
    });
    await Promise.all([pNew, pOld]);
    expect(log).toEqual(['limit', 'old', 'new']);
    expect(o.running).toBe(0);
  });

  it('a job that ends normally unblocks the parked ones', async () => {
    const o = new RequeueOrder({ beforeRelease: async () => {}, isBack: async () => true });
    o.enter('a', 1);
    o.enter('b', 2);
    let released = false;
    const p = o.park('a').then(() => (released = true));
    await tick();
    expect(released).toBe(false);
    o.leave('b');
    await p;
    expect(released).toBe(true);
  });

  it('does not wait forever for a job that keeps running', async () => {
    const o = new RequeueOrder({ beforeRelease: async () => {}, isBack: async () => true, maxParkMs: 30 });
    o.enter('slow', 1);
    o.enter('a', 2);
    const t0 = Date.now();
    await o.park('a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    o.leave('slow');
    expect(o.running).toBe(0);
  });

  it('releases even when setting the rate limit fails', async () => {
    const o = new RequeueOrder({ beforeRelease: async () => Promise.reject(new Error('redis down')), isBack: async () => true });
    o.enter('a', 1);
    await o.park('a');
  });
});
