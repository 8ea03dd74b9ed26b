// Issue #7, alerts: the simulated camera freezes (unplugged) → exactly one
// "offline" then one "back" message per target, with the right camera and
// timings; wrong password → one "authentication failing" message; the camera
// credentials never appear in a message.
import { afterAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './helpers/env.js';
import { startHttpReceiver, type ReceivedRequest } from './helpers/http-receiver.js';
import { TestStack } from './helpers/stack.js';

interface WebhookBody {
  type: string;
  title: string;
  message: string;
  cameraId: string | null;
  at: string;
  details: Record<string, unknown>;
}

const alertsYaml = (url: string, offlineAfter: number) => `alerts:
  offlineAfterSeconds: ${offlineAfter}
  targets:
    - { id: hook, type: webhook, url: "${url}/hook" }
    - { id: phone, type: ntfy, url: "${url}/ntfy-topic", headers: { Authorization: "Bearer ntfy-secret-token" } }`;

describe('alerts', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  function noSecrets(stack: TestStack, reqs: ReceivedRequest[]): void {
    for (const r of reqs) {
      const all = `${r.url} ${JSON.stringify(r.headers)} ${r.body}`;
      expect(all).not.toContain(stack.password);
      expect(all).not.toContain(`${stack.user}:`);
    }
  }

  it('camera unplugged: exactly one "offline" and then one "back" message per target, with the outage length', async () => {
    const rx = await startHttpReceiver();
    cleanups.push(rx.close);
    const stack = new TestStack('alerts-offline');
    cleanups.push(async () => {
      await stack.stopApps();
      await stack.cleanup();
    });
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', segmentSeconds: 4 }], alertsYaml(rx.url, 8));
    await stack.start('scheduler');
    await stack.start('worker');
    await waitFor('recording', async () => ((await stack.progress('cam1'))?.frames ?? 0) > 30, 40_000);
    await sleep(3000);
    expect(rx.requests, 'no message while the camera records').toHaveLength(0);

    const frozenAt = Date.now();
    stack.camera.freeze();
    const hooks = () => rx.requests.filter((r) => r.url === '/hook').map((r) => ({ ...r, json: JSON.parse(r.body) as WebhookBody }));
    const ntfys = () => rx.requests.filter((r) => r.url === '/ntfy-topic');
    await waitFor('the offline messages', () => hooks().length >= 1 && ntfys().length >= 1, 40_000, 100);
    const offline = hooks()[0]!;
    const offlineAfter = (offline.at - frozenAt) / 1000;
    expect(offline.json).toMatchObject({ type: 'camera-offline', cameraId: 'cam1' });
    expect(offline.json.title).toContain('cam1');
    const ntfy = ntfys()[0]!;
    expect(ntfy.headers.title).toContain('cam1');
    expect(ntfy.headers.authorization).toBe('Bearer ntfy-secret-token');
    expect(ntfy.body).toMatch(/no video since/);

    // Still frozen: nothing more (the watchdog restarts ffmpeg again and again meanwhile).
    await sleep(Math.max(0, frozenAt + 25_000 - Date.now()));
    expect(hooks().map((h) => ({ type: h.json.type, after: ((h.at - frozenAt) / 1000).toFixed(1), details: h.json.details }))).toHaveLength(1);
    expect(ntfys()).toHaveLength(1);

    const resumedAt = Date.now();
    stack.camera.resume();
    await waitFor('the back messages', () => hooks().length >= 2 && ntfys().length >= 2, 40_000, 100);
    const back = hooks()[1]!;
    const backAfter = (back.at - resumedAt) / 1000;
    expect(back.json).toMatchObject({ type: 'camera-back', cameraId: 'cam1' });
    const outage = Number(back.json.details.outageSeconds);
    // The outage runs from the last frame before the freeze to the first after it.
    expect(outage).toBeGreaterThan(20);
    expect(outage).toBeLessThan(45);
    console.log(`[measure] alerts: "offline" ${offlineAfter.toFixed(1)} s after the freeze (offlineAfterSeconds 8), "back" ${backAfter.toFixed(1)} s after the camera returned, outage reported ${outage} s (frozen ${((resumedAt - frozenAt) / 1000).toFixed(1)} s)`);
    expect(offlineAfter).toBeLessThan(25);
    expect(backAfter).toBeLessThan(20);

    await sleep(8000);
    expect(hooks().map((h) => h.json.type)).toEqual(['camera-offline', 'camera-back']);
    expect(ntfys()).toHaveLength(2);
    noSecrets(stack, rx.requests);
  }, 180_000);

  it('wrong password: one "authentication failing" message, without the password', async () => {
    const rx = await startHttpReceiver();
    cleanups.push(rx.close);
    const stack = new TestStack('alerts-auth');
    cleanups.push(async () => {
      await stack.stopApps();
      await stack.cleanup();
    });
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam1', wrongPassword: true }], alertsYaml(rx.url, 8));
    await stack.start('scheduler');
    await stack.start('worker');
    await waitFor('the auth message', () => rx.requests.some((r) => r.url === '/hook'), 60_000, 200);
    await sleep(10_000);
    const hooks = rx.requests.filter((r) => r.url === '/hook').map((r) => JSON.parse(r.body) as WebhookBody);
    expect(hooks.map((h) => h.type)).toEqual(['auth-failing']);
    expect(hooks[0]!.cameraId).toBe('cam1');
    noSecrets(stack, rx.requests);
    expect(JSON.stringify(hooks)).not.toContain('wrong-password');
  }, 120_000);
});
