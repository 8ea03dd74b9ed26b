import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig, parseDurationSeconds, resolveConfigPath } from './index.js';

const FILE = '/etc/recorder/cameras.yml';
const env = { TAPO_USER: 'camuser', TAPO_PASSWORD: 's3cret!pw' };

function err(text: string, e: NodeJS.ProcessEnv = env): ConfigError {
  try {
    parseConfig(text, FILE, e);
  } catch (x) {
    expect(x).toBeInstanceOf(ConfigError);
    return x as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies defaults and substitutes ${VAR}', () => {
    const cfg = parseConfig(
      `cameras:
  - id: living-room
    url: rtsp://\${TAPO_USER}:\${TAPO_PASSWORD}@192.168.1.20:554/stream1
    segmentSeconds: 10
  - id: garden
    url: rtsp://192.168.1.21/stream2
    audio: off
    enabled: false
`,
      FILE,
      env,
    );
    expect(cfg.recordingsDir).toBe('/etc/recorder/recordings');
    expect(cfg.segmentSeconds).toBe(60);
    expect(cfg.stallTimeoutSeconds).toBe(10);
    expect(cfg.concurrency).toBe(16);
    expect(cfg.cameras).toEqual([
      { id: 'living-room', url: 'rtsp://camuser:s3cret!pw@192.168.1.20:554/stream1', segmentSeconds: 10, audio: 'aac', enabled: true, retention: {} },
      { id: 'garden', url: 'rtsp://192.168.1.21/stream2', segmentSeconds: 60, audio: 'off', enabled: false, retention: {} },
    ]);
    expect(cfg.minFreeDisk).toEqual({ percent: 5 });
    expect(cfg.pruneEverySeconds).toBe(60);
    expect(cfg.storage).toBe('shared');
  });

  it('supports ${VAR:-default} and $${ escapes', () => {
    const cfg = parseConfig(`recordingsDir: \${REC:-/data/rec}\ncameras: []\n`, FILE, {});
    expect(cfg.recordingsDir).toBe('/data/rec');
  });

  it('an empty file is a valid config with no cameras', () => {
    expect(parseConfig('', FILE, {}).cameras).toEqual([]);
  });

  it('rejects invalid YAML naming the file and line', () => {
    const e = err('cameras:\n  - id: a\n   url: [\n');
    expect(e.message).toContain(FILE);
    expect(e.message).toMatch(/invalid YAML/);
    expect(e.message).toMatch(/line \d+/);
  });

  it('rejects unknown keys, naming camera and field', () => {
    const e = err('cameras:\n  - id: cam1\n    url: rtsp://h/s\n    segmentSecs: 5\n');
    expect(e.message).toBe(`${FILE}, camera "cam1" (cameras[0]), field "segmentSecs": unknown key "segmentSecs"`);
    expect(e.cameraId).toBe('cam1');
    expect(e.field).toBe('segmentSecs');
    const top = err('recordingDir: /x\n');
    expect(top.message).toContain('field "recordingDir": unknown key');
  });

  it('rejects duplicate camera ids', () => {
    const e = err('cameras:\n  - id: cam1\n    url: rtsp://h/1\n  - id: cam1\n    url: rtsp://h/2\n');
    expect(e.message).toContain('camera "cam1" (cameras[1])');
    expect(e.message).toContain('field "id"');
    expect(e.message).toContain('duplicate camera id');
  });

  it.each(['../etc', 'a/b', 'Upper', '', 'x'.repeat(65), 'a b', '..'])('rejects camera id %j', (id) => {
    const e = err(`cameras:\n  - id: ${JSON.stringify(id)}\n    url: rtsp://h/1\n`);
    expect(e.message).toContain('field "id"');
    expect(e.message).toContain(FILE);
  });

  it('rejects a url that is not rtsp://', () => {
    const e = err('cameras:\n  - id: cam1\n    url: http://192.168.1.20/stream1\n');
    expect(e.message).toBe(`${FILE}, camera "cam1" (cameras[0]), field "url": must be an rtsp:// (or rtsps://) URL`);
  });

  it('rejects a missing ${VAR} without printing other values', () => {
    const e = err('cameras:\n  - id: cam1\n    url: rtsp://u:${TAPO_PASSWORD}@h/1\n', {});
    expect(e.message).toBe(`${FILE}, camera "cam1" (cameras[0]), field "url": environment variable \${TAPO_PASSWORD} is not set`);
  });

  it('rejects bad values with the allowed ones', () => {
    expect(err('cameras:\n  - id: c\n    url: rtsp://h/1\n    audio: mp3\n').message).toContain(
      'field "audio": must be one of "aac" | "copy" | "off"',
    );
    expect(err('segmentSeconds: 1\n').message).toContain('field "segmentSeconds"');
    expect(err('cameras:\n  - id: c\n    url: rtsp://h/1\n    enabled: maybe\n').message).toContain('field "enabled"');
  });

  it('reports a missing file clearly', () => {
    expect(() => loadConfigFile('/nonexistent/cameras.yml')).toThrow(/cameras.yml: cannot read config file \(no such file\)/);
  });

  it('resolves the config path from --config, RECORDER_CONFIG, default', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const f = path.join(dir, 'c.yml');
    writeFileSync(f, 'cameras: []\n');
    expect(resolveConfigPath(['--config', f], {})).toEqual({ file: f, explicit: true, exists: true });
    expect(resolveConfigPath([`--config=${f}`], {}).file).toBe(f);
    expect(resolveConfigPath([], { RECORDER_CONFIG: f })).toEqual({ file: f, explicit: true, exists: true });
    const def = resolveConfigPath([], {});
    expect(def.explicit).toBe(false);
    expect(path.basename(def.file)).toBe('cameras.yml');
  });

  it('merges retention limits over the global ones', () => {
    const cfg = parseConfig(
      `retention: { maxAge: 7d, maxSize: 50GB }
minFreeDisk: 20GB
cameras:
  - id: a
    url: rtsp://h/1
  - id: b
    url: rtsp://h/2
    retention: { maxSize: 500MiB }
`,
      FILE,
      {},
    );
    expect(cfg.cameras[0]!.retention).toEqual({ maxAgeSeconds: 604800, maxBytes: 50e9 });
    expect(cfg.cameras[1]!.retention).toEqual({ maxAgeSeconds: 604800, maxBytes: 500 * 1024 * 1024 });
    expect(cfg.minFreeDisk).toEqual({ bytes: 20e9 });
    expect(err('retention: { maxAge: soon }\n').message).toContain('field "retention.maxAge": invalid duration "soon"');
    expect(err('minFreeDisk: 120%\n').message).toContain('field "minFreeDisk"');
    expect(err('cameras:\n  - id: a\n    url: rtsp://h/1\n    retention: { maxSize: lots }\n').message).toContain(
      'camera "a" (cameras[0]), field "retention.maxSize": invalid size "lots"',
    );
  });

  it('parses replicas, receive tokens and alerts, naming bad fields', () => {
    const cfg = parseConfig(
      `cameras:
  - id: a
    url: rtsp://h/1
replicas:
  - id: nas
    type: directory
    path: /mnt/nas/rec
    retention: { maxAge: 30d, maxSize: 1TB }
  - id: office
    type: http
    url: https://office:3000/
    token: \${TOKEN}
    cameras: [a]
    alertAfter: 10m
receive:
  tokens:
    - { id: house, token: 0123456789abcdef0123, cameraPrefix: house- }
alerts:
  targets:
    - { id: phone, type: ntfy, url: "https://ntfy.example/topic", events: [camera-offline, camera-back] }
`,
      FILE,
      { TOKEN: 'tok-0123456789abcdef' },
    );
    expect(cfg.replicas).toEqual([
      { id: 'nas', type: 'directory', path: '/mnt/nas/rec', retention: { maxAgeSeconds: 30 * 86400, maxBytes: 1e12 }, alertAfterSeconds: 300 },
      { id: 'office', type: 'http', url: 'https://office:3000', token: 'tok-0123456789abcdef', cameras: ['a'], retention: {}, alertAfterSeconds: 600, live: true },
    ]);
    expect(cfg.receive.liveIdleSeconds).toBe(20);
    expect(cfg.receive.tokens).toEqual([{ id: 'house', token: '0123456789abcdef0123', cameraPrefix: 'house-' }]);
    expect(cfg.alerts).toMatchObject({ offlineAfterSeconds: 30, minIntervalSeconds: 60, targets: [{ id: 'phone', type: 'ntfy', headers: {} }] });
    expect(parseConfig('', FILE, {}).replicas).toEqual([]);
    expect(err('replicas:\n  - { id: x, type: ftp, path: /a }\n').message).toContain('field "replicas.0.type"');
    expect(err('replicas:\n  - { id: x, type: http, url: "ftp://a", token: 0123456789abcdef0 }\n').message).toContain(
      'field "replicas.0.url": must be an http:// or https:// URL',
    );
    expect(err('replicas:\n  - { id: x, type: http, url: "http://a", token: short }\n').message).toContain('at least 16 characters');
    expect(err('replicas:\n  - { id: x, type: directory, path: /a }\n  - { id: x, type: directory, path: /b }\n').message).toContain(
      'field "replicas[1].id": duplicate id "x"',
    );
    expect(err('replicas:\n  - { id: x, type: directory, path: /a, cameras: [nope] }\n').message).toContain('unknown camera "nope"');
    expect(err('recordingsDir: /srv/rec\nreplicas:\n  - { id: x, type: directory, path: /srv/rec/copy }\n').message).toContain('overlaps recordingsDir');
    expect(err('alerts:\n  targets:\n    - { id: t, type: email, url: "http://a" }\n').message).toContain('field "alerts.targets.0.type"');
    expect(err('alerts:\n  targets:\n    - { id: t, type: webhook, url: "http://a", events: [fire] }\n').message).toContain('alerts.targets.0.events.0');
  });

  it('parses durations', () => {
    expect(parseDurationSeconds('7d')).toBe(604800);
    expect(parseDurationSeconds('15m')).toBe(900);
    expect(parseDurationSeconds(30)).toBe(30);
    expect(() => parseDurationSeconds('soon')).toThrow();
  });
});

describe('recordingsDir', () => {
  const cfgIn = (dir: string) => `recordingsDir: ${dir}\ncameras: []\n`;
  it.each(['/', '/etc', '/usr', '/bin', '/proc', '/sys', '/dev', '/boot', '/proc/self', '/dev/shm/rec', '/sys/kernel', '/boot/rec', '/usr/bin/cams', '//', '/etc/../'])(
    'refuses %s with a one-line error naming the field',
    (dir) => {
      const e = err(cfgIn(dir));
      expect(e.message).toMatch(/recordingsDir/);
      expect(e.message).toMatch(/root|system folder/);
      expect(e.message.split('\n')).toHaveLength(1);
    },
  );
  it('refuses a relative recordingsDir that resolves to /', () => {
    expect(() => parseConfig(cfgIn('../..'), '/a/cameras.yml', env)).toThrow(/filesystem root/);
  });
  it('accepts ordinary folders (also below /etc, /var and /usr/local)', () => {
    for (const dir of ['/var/lib/tapo-recorder/recordings', '/srv/cams', '/mnt/usb', '/home/me/rec', '/etc/tapo-recorder/recordings', '/usr/local/share/rec', '/tmp/x']) {
      expect(parseConfig(cfgIn(dir), FILE, env).recordingsDir).toBe(dir);
    }
  });
  it('refuses RECORDINGS_DIR=/ too', () => {
    expect(() => parseConfig(cfgIn('/srv/cams'), FILE, { ...env, RECORDINGS_DIR: '/' })).toThrow(/RECORDINGS_DIR: \/ is the filesystem root/);
  });
});
