import { describe, expect, it } from 'vitest';
import { RequeueOrder } from './requeue-order.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('requeue order', () => {
  it('releases parked jobs oldest segment first, each after the previous is back in wait', async () => {
    const log: string[] = [];
    const back = new Set<string>();
    const order = new RequeueOrder({
      beforeRelease: async () => void log.push('limit'),
      isBack: async (id) => back.has(id),
      pollMs: 1,
    });
    order.enter('new', 200);
    order.enter('old', 100);
    const pNew = order.park('new').then(() => {
      log.push('new');
      setTimeout(() => back.add('new'), 10);
    });
    await tick();
    expect(log).toEqual([]); // 'old' still runs
    const pOld = order.park('old').then(() => {
      log.push('old');
      setTimeout(() => back.add('old'), 10);
    });
    await Promise.all([pNew, pOld]);
    expect(log).toEqual(['limit', 'old', 'new']);
    expect(order.running).toBe(0);
  });

  it('a job that ends normally unblocks the parked ones', async () => {
    const order = new RequeueOrder({ beforeRelease: async () => {}, isBack: async () => true });
    order.enter('a', 1);
    order.enter('b', 2);
    let released = false;
    const p = order.park('a').then(() => (released = true));
    await tick();
    expect(released).toBe(false);
    order.leave('b');
    await p;
    expect(released).toBe(true);
  });

  it('does not wait forever for a job that keeps running', async () => {
    const order = new RequeueOrder({ beforeRelease: async () => {}, isBack: async () => true, maxParkMs: 30 });
    order.enter('slow', 1);
    order.enter('a', 2);
    const t0 = Date.now();
    await order.park('a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    order.leave('slow');
    expect(order.running).toBe(0);
  });

  it('releases even when setting the rate limit fails', async () => {
    const order = new RequeueOrder({ beforeRelease: async () => Promise.reject(new Error('redis down')), isBack: async () => true });
    order.enter('a', 1);
    await order.park('a');
  });
});
