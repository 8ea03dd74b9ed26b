// Issue #5: the board in a real browser (Debian's Chromium driven by
// playwright-core). With the simulated camera recording: the cameras page shows
// it recording with a thumbnail; the timeline shows a span; the video plays;
// Bull Board lists the record job; a failed repair job is retried through the
// Bull Board UI and completes. Screenshots go to artifacts/screenshots/.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { SegmentIndex } from '@tapo/segment-index';
import { segmentPath } from '@tapo/storage';
import { ROOT, waitFor } from './helpers/env.js';
import { makeFragmented, makeKilledPlain } from './helpers/media.js';
import { TestStack } from './helpers/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`[skip] browser test: ${CHROMIUM} not installed (bash scripts/install-deps.sh --dev)`);

describe.skipIf(!haveChromium)('board in Chromium', () => {
  const stack = new TestStack('browser');
  let browser: Browser;
  let page: Page;
  let base = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await stack.startRecording([{ id: 'cam1', segmentSeconds: 4 }]);
    await stack.start('board');
    base = `http://127.0.0.1:${stack.boardPort}`;
    const index = new SegmentIndex(stack.redis, stack.prefix);
    await waitFor('two indexed segments', async () => (await index.stats('cam1')).count >= 2, 60_000, 500);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('cameras page: cam1 recording, with a thumbnail', async () => {
    await page.goto(`${base}/`);
    await expect.poll(async () => page.locator('.card .state').first().textContent(), { timeout: 20_000 }).toBe('recording');
    const img = page.locator('.card img').first();
    await expect.poll(async () => img.evaluate((el) => {
      const i = el as unknown as { complete: boolean; naturalWidth: number };
      return i.complete && i.naturalWidth;
    }), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'cameras.png'), fullPage: true });
    expect(await page.content()).not.toContain(stack.password);
  }, 60_000);

  it('timeline shows a recorded span; clicking it plays the video', async () => {
    await page.goto(`${base}/timeline?camera=cam1`);
    const span = page.locator('.bar a').first();
    await expect(span.count()).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'timeline.png'), fullPage: true });
    await span.click();
    await page.waitForURL(/\/play\?/);
    const t = await waitFor('the video playing', async () => {
      const ct = await page.locator('video').evaluate(async (el) => {
        const v = el as unknown as { paused: boolean; play(): Promise<void>; currentTime: number };
        if (v.paused) await v.play().catch(() => {});
        return v.currentTime;
      });
      return ct > 0.5 ? ct : undefined;
    }, 20_000, 250);
    expect(t).toBeGreaterThan(0.5);
    await page.screenshot({ path: path.join(SHOTS, 'play.png') });
  }, 60_000);

  it('Bull Board lists the record job', async () => {
    await page.goto(`${base}/queues/queue/record?status=active`);
    await expect.poll(async () => page.content(), { timeout: 20_000 }).toContain('record-cam1');
    await page.screenshot({ path: path.join(SHOTS, 'bull-board-record.png'), fullPage: true });
  }, 60_000);

  it('a failed repair job is retried through the Bull Board UI and completes', async () => {
    // A plain MP4 killed mid-write, for a camera with no good segment yet: the rebuild fails.
    const broken = segmentPath(stack.recordingsDir, 'cam9', new Date(Date.UTC(2026, 10, 20, 10, 1, 0)));
    mkdirSync(path.dirname(broken), { recursive: true });
    await makeKilledPlain(broken, 4000);
    const file = path.relative(stack.recordingsDir, broken);
    const { Queue } = await import('bullmq');
    const repair = new Queue('repair', { connection: stack.redis, prefix: stack.prefix });
    await repair.add(
      'repair',
      { cameraId: 'cam9', file, host: 'test', reason: 'browser test', reportedAt: new Date().toISOString(), step: 'rebuild', found: 'no-moov', fallbacks: [] },
      { jobId: 'repair-browser', attempts: 1 },
    );
    await waitFor('the repair job failed', async () => (await (await repair.getJob('repair-browser'))?.getState()) === 'failed', 30_000, 250);
    // Now a good segment of cam9 exists.
    const good = segmentPath(stack.recordingsDir, 'cam9', new Date(Date.UTC(2026, 10, 20, 10, 0, 0)));
    await makeFragmented(good, 4);
    await new SegmentIndex(stack.redis, stack.prefix).upsert({ cameraId: 'cam9', file: path.relative(stack.recordingsDir, good), startMs: Date.UTC(2026, 10, 20, 10, 0, 0), durationMs: 4000, bytes: statSync(good).size, status: 'ok', host: 'test' });
    // Retry from the UI.
    await page.goto(`${base}/queues/queue/repair?status=failed`);
    await expect.poll(async () => page.content(), { timeout: 20_000 }).toContain('repair-browser');
    await page.screenshot({ path: path.join(SHOTS, 'bull-board-failed.png'), fullPage: true });
    // The job card's first action button is "retry" (the circular arrows).
    const card = page.getByText('repair-browser', { exact: true }).first().locator('xpath=ancestor::*[.//button][1]');
    await card.locator('button').first().click();
    const confirm = page.getByRole('button', { name: /^(confirm|yes|retry)$/i });
    if (await confirm.count()) await confirm.first().click();
    await waitFor('the retried job completed', async () => (await (await repair.getJob('repair-browser'))?.getState()) === 'completed', 60_000, 250);
    const logs = (await repair.getJobLogs('repair-browser')).logs.join('\n');
    expect(logs).toMatch(/rebuild done/);
    await page.goto(`${base}/queues/queue/repair?status=completed`);
    await expect.poll(async () => page.content(), { timeout: 20_000 }).toContain('repair-browser');
    await page.screenshot({ path: path.join(SHOTS, 'bull-board-completed.png'), fullPage: true });
    await repair.close();
  }, 120_000);

  it('Bull Board: pausing a queue from the UI is refused with a message (issue 11), the queue keeps running', async () => {
    await page.goto(`${base}/queues/queue/maintenance`);
    await page.getByText('Ring buffer: prune (scheduled), scan').waitFor({ timeout: 20_000 });
    await page.locator('button[aria-haspopup="menu"]').first().click(); // the queue's ⋮ menu
    await page.getByRole('menuitem', { name: /^pause$/i }).click();
    const confirm = page.getByRole('button', { name: /^(confirm|yes|pause)$/i });
    if (await confirm.count()) await confirm.first().click();
    await page.getByText('Not allowed here').waitFor({ timeout: 10_000 });
    expect(await page.content()).toMatch(/only retrying and promoting jobs are/);
    await page.screenshot({ path: path.join(SHOTS, 'bull-board-refused.png') });
    const maint = new Queue('maintenance', { connection: stack.redis, prefix: stack.prefix });
    expect(await maint.isPaused()).toBe(false);
    await maint.close();
  }, 60_000);
});
