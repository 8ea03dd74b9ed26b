import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startSimCamera, type SimCamera } from '@tapo/sim-camera';
import { RECORD_QUEUE, type RecordProgress } from '@tapo/queues';
import { REDIS_URL, deletePrefix, tempDir, uniquePrefix } from './env.js';
import { startApp, type AppProcess } from './processes.js';

export interface CameraSpec {
  id: string;
  segmentSeconds?: number;
  audio?: 'aac' | 'copy' | 'off';
  /** Use a wrong password for this camera. */
  wrongPassword?: boolean;
  /** Stream path (default stream1). */
  path?: string;
}

/**
 * A test installation: a simulated camera with Digest auth, a config file in a
 * temp dir (credentials through ${VAR}), its own queue prefix, and helpers to
 * start our apps as separate processes against the real Redis.
 */
export class TestStack {
  readonly prefix: string;
  readonly dir: string;
  readonly recordingsDir: string;
  readonly configFile: string;
  readonly user = 'tapo-admin';
  readonly password = `Pw-${randomBytes(6).toString('hex')}`;
  readonly redisUrl: string;
  readonly redis: Redis;
  readonly queue: Queue;
  camera!: SimCamera;
  apps: AppProcess[] = [];
  boardPort = 0;
  private cleanupDir: () => void;

  constructor(name: string, opts: { redisUrl?: string } = {}) {
    this.redisUrl = opts.redisUrl ?? REDIS_URL;
    this.redis = new Redis(this.redisUrl, { maxRetriesPerRequest: 3 });
    this.redis.on('error', () => {});
    this.prefix = uniquePrefix(name);
    const t = tempDir(name);
    this.dir = t.dir;
    this.cleanupDir = t.cleanup;
    this.recordingsDir = path.join(this.dir, 'recordings');
    this.configFile = path.join(this.dir, 'cameras.yml');
    this.queue = new Queue(RECORD_QUEUE, { connection: this.redis, prefix: this.prefix });
    this.queue.on('error', () => {});
  }

  async startCamera(opts: { nullSprop?: boolean; port?: number } = {}): Promise<void> {
    this.camera = await startSimCamera({ user: this.user, password: this.password, ...opts });
  }

  writeConfig(cameras: CameraSpec[], extra = ''): void {
    const lines = [`recordingsDir: ${this.recordingsDir}`, 'segmentSeconds: 60', extra, 'cameras:'];
    for (const c of cameras) {
      const pass = c.wrongPassword ? 'wrong-password' : '${CAM_PASSWORD}';
      lines.push(
        `  - id: ${c.id}`,
        `    url: rtsp://\${CAM_USER}:${pass}@127.0.0.1:${this.camera.port}/${c.path ?? 'stream1'}`,
        `    segmentSeconds: ${c.segmentSeconds ?? 5}`,
        `    audio: ${c.audio ?? 'aac'}`,
      );
    }
    writeFileSync(this.configFile, lines.filter(Boolean).join('\n') + '\n');
  }

  configFileContent(): string {
    return readFileSync(this.configFile, 'utf8');
  }

  /** Replaces the config file (apps notice the new mtime). */
  rewriteConfig(text: string): void {
    const tmp = `${this.configFile}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.configFile);
  }

  env(): NodeJS.ProcessEnv {
    return {
      REDIS_URL: this.redisUrl,
      RECORDER_QUEUE_PREFIX: this.prefix,
      RECORDER_CONFIG: this.configFile,
      CAM_USER: this.user,
      CAM_PASSWORD: this.password,
      BOARD_PORT: String(this.boardPort),
      BOARD_HOST: '127.0.0.1',
    };
  }

  async start(name: 'scheduler' | 'worker' | 'board', extraEnv: NodeJS.ProcessEnv = {}): Promise<AppProcess> {
    if (name === 'board' && !this.boardPort) this.boardPort = await freePort();
    const app = startApp(name, { ...this.env(), ...extraEnv });
    this.apps.push(app);
    return app;
  }

  /**
   * Camera + config + scheduler + worker, then waits until `cameras[0]` records
   * (at least `minFrames` frames). Returns that camera's heartbeat.
   */
  async startRecording(cameras: CameraSpec[], minFrames = 30): Promise<RecordProgress> {
    await this.startCamera();
    this.writeConfig(cameras);
    await this.start('scheduler');
    await this.start('worker');
    const id = cameras[0]!.id;
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      const p = await this.progress(id);
      if (p?.state === 'recording' && p.frames > minFrames) return p;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${id} is not recording after 40 s:\n${this.output().slice(-3000)}`);
  }

  async progress(cameraId: string): Promise<RecordProgress | undefined> {
    const job = await this.queue.getJob(`record-${cameraId}`);
    const p = job?.progress;
    return p && typeof p === 'object' ? (p as unknown as RecordProgress) : undefined;
  }

  async jobLogs(cameraId: string): Promise<string[]> {
    return (await this.queue.getJobLogs(`record-${cameraId}`, 0, -1)).logs;
  }

  /** All output of all our processes so far. */
  output(): string {
    return this.apps.map((a) => `==== ${a.name} (${a.pid})\n${a.output()}`).join('\n');
  }

  async stopApps(): Promise<void> {
    // Workers first (they hand their jobs back), then the rest.
    const order = [...this.apps].sort((a, b) => Number(b.name === 'worker') - Number(a.name === 'worker'));
    for (const a of order) await a.stop('SIGTERM', 15_000);
  }

  async cleanup(): Promise<void> {
    for (const a of this.apps) await a.stop('SIGKILL', 5000).catch(() => {});
    await this.camera?.stop().catch(() => {});
    await this.queue.close().catch(() => {});
    await deletePrefix(this.redis, this.prefix).catch(() => {});
    await this.redis.quit().catch(() => {});
    if (!process.env.KEEP_TEST_FILES) this.cleanupDir();
  }
}
