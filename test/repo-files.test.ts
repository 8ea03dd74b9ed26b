// The shipped files stay correct: the example config loads, docker-compose.yml
// has the services and settings the README promises, the README's commands exist.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '@tapo/config';
import { ROOT } from './helpers/env.js';

describe('shipped files', () => {
  it('cameras.example.yml is a valid config', () => {
    const cfg = loadConfigFile(path.join(ROOT, 'cameras.example.yml'), { TAPO_USER: 'u', TAPO_PASSWORD: 'p' });
    expect(cfg.cameras.map((c) => c.id)).toEqual(['living-room']);
    expect(cfg.cameras[0]!.url).toBe('rtsp://u:p@192.168.1.20:554/stream1');
  });

  it('docker-compose.yml: redis with AOF + noeviction, scalable workers, board on loopback', () => {
    const doc = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; ports?: string[]; container_name?: string; environment?: Record<string, string>; volumes?: string[]; healthcheck?: unknown }>;
      volumes: Record<string, unknown>;
    };
    expect(Object.keys(doc.services).sort()).toEqual(['board', 'redis', 'scheduler', 'worker']);
    const redis = doc.services.redis!;
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    expect(redis.healthcheck).toBeDefined();
    const worker = doc.services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.command?.join(' ')).toContain('dist/worker.mjs');
    expect(worker.volumes).toContain('recordings:/recordings');
    expect(worker.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(doc.services.board!.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(doc.services.scheduler!.command?.join(' ')).toContain('dist/scheduler.mjs');
    expect(Object.keys(doc.volumes)).toContain('recordings');
    // No credential in the compose file itself.
    expect(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')).not.toMatch(/rtsp:\/\/[^$\s]*:[^$\s]*@/);
  });

  it('package.json has the contract scripts', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['start', 'scheduler', 'worker', 'board', 'test']) expect(pkg.scripts[s], s).toBeDefined();
  });
});
