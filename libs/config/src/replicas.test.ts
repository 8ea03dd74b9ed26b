import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseConfig } from './load.js';
import { resolveReplicaFields } from './replicas.js';

const ctx = { baseDir: '/etc/recorder', recordingsDir: '/srv/rec' };

describe('replica types (config side)', () => {
  it('resolves each type\'s own fields', () => {
    expect(resolveReplicaFields({ type: 'directory', path: 'nas' }, ctx)).toEqual({ fields: { type: 'directory', path: '/etc/recorder/nas' } });
    expect(resolveReplicaFields({ type: 'http', url: 'https://office:3000//', token: 't', live: true }, ctx)).toEqual({ fields: { type: 'http', url: 'https://office:3000', token: 't', live: true } });
  });

  it('names the field of a directory that overlaps the recordings', () => {
    for (const p of ['/srv/rec', '/srv/rec/copy', '/srv', '/']) {
      expect(resolveReplicaFields({ type: 'directory', path: p }, ctx), p).toMatchObject({ problem: { field: 'path', message: expect.stringContaining('overlaps recordingsDir (/srv/rec)') } });
    }
    expect(resolveReplicaFields({ type: 'directory', path: '/srv/recordings-copy' }, ctx)).toHaveProperty('fields');
  });
});

describe('type: s3 (config side)', () => {
  const FILE = '/etc/recorder/cameras.yml';
  const env = { B2_KEY_ID: '0031234567890abc', B2_SECRET: 'K003verysecretvalue0123456789' };
  const yaml = (fields: string) =>
    `recordingsDir: /srv/rec\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\nreplicas:\n  - { id: b2, type: s3, ${fields} }\n`;
  const ok = 'endpoint: "https://s3.eu-central-003.backblazeb2.com", bucket: my-cams, accessKeyId: "${B2_KEY_ID}", secretAccessKey: "${B2_SECRET}"';
  const problem = (fields: string): string => {
    try {
      parseConfig(yaml(fields), FILE, env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const m = (e as Error).message;
      expect(m).not.toContain(env.B2_SECRET);
      return m;
    }
    throw new Error('no ConfigError');
  };

  it('fills the defaults and substitutes the keys', () => {
    const cfg = parseConfig(yaml(`${ok}, retention: { maxAge: 30d }, alertAfter: 10m`), FILE, env);
    expect(cfg.replicas[0]).toEqual({
      id: 'b2',
      type: 's3',
      endpoint: 'https://s3.eu-central-003.backblazeb2.com',
      region: 'us-east-1',
      bucket: 'my-cams',
      prefix: 'tapo-recorder/',
      accessKeyId: env.B2_KEY_ID,
      secretAccessKey: env.B2_SECRET,
      forcePathStyle: true,
      live: true,
      chunkSeconds: 2,
      retention: { maxAgeSeconds: 30 * 86_400 },
      alertAfterSeconds: 600,
    });
    expect(parseConfig(yaml(`${ok}, live: false, chunkSeconds: 5`), FILE, env).replicas[0]).toMatchObject({ live: false, chunkSeconds: 5 });
    expect(problem(`${ok}, chunkSeconds: 0.5`)).toMatch(/replicas\.0\.chunkSeconds.*at least 1/);
    const other = parseConfig(yaml(`${ok}, region: eu-central-003, prefix: "house/cams/", forcePathStyle: false, cameras: [cam1]`), FILE, env).replicas[0];
    expect(other).toMatchObject({ region: 'eu-central-003', prefix: 'house/cams/', forcePathStyle: false, cameras: ['cam1'] });
    expect(parseConfig(yaml(ok.replace('backblazeb2.com"', 'backblazeb2.com/"')), FILE, env).replicas[0]).toMatchObject({ endpoint: 'https://s3.eu-central-003.backblazeb2.com' });
  });

  it('one clear line for a bad endpoint, bucket, prefix or missing keys', () => {
    expect(problem(ok.replace('https://s3.eu-central-003.backblazeb2.com', 's3.eu-central-003.backblazeb2.com'))).toMatch(/replicas\.0\.endpoint.*must be an http:\/\/ or https:\/\/ URL/);
    expect(problem(ok.replace('https://s3.eu', 'https://user:pw@s3.eu'))).toMatch(/endpoint.*without credentials/);
    expect(problem(ok.replace('bucket: my-cams', 'bucket: ""'))).toMatch(/replicas\.0\.bucket.*must not be empty/);
    expect(problem(ok.replace('bucket: my-cams', 'bucket: "my/cams"'))).toMatch(/bucket.*must be a bucket name/);
    expect(problem(`${ok}, prefix: "cams"`)).toMatch(/replicas\.0\.prefix.*must end with "\/"/);
    expect(problem(`${ok}, prefix: "/cams/"`)).toMatch(/prefix.*must not start with "\/"/);
    expect(problem(`${ok}, prefix: "a//b/"`)).toMatch(/prefix.*must not contain/);
    expect(problem(`${ok}, prefix: "../b/"`)).toMatch(/prefix.*must not contain/);
    expect(problem(ok.replace(', secretAccessKey: "${B2_SECRET}"', ''))).toMatch(/secretAccessKey/);
    expect(problem(ok.replace('accessKeyId: "${B2_KEY_ID}"', 'accessKeyId: ""'))).toMatch(/accessKeyId.*must not be empty/);
    expect(problem(`${ok}, token: x`)).toMatch(/token/);
    expect(problem(ok.replace('"https://s3.eu-central-003.backblazeb2.com"', '""'))).toMatch(/endpoint.*must not be empty/);
    for (const m of [problem(ok.replace('bucket: my-cams', 'bucket: ""')), problem(ok.replace('"https://s3.eu-central-003.backblazeb2.com"', '""')), problem(`${ok}, prefix: "cams"`)]) {
      expect(m.split('\n'), m).toHaveLength(1);
    }
  });
});

describe('encryption (config side)', () => {
  const FILE = '/etc/recorder/cameras.yml';
  const KEY = 'tapo-key-v1:' + Buffer.alloc(32, 7).toString('base64url');
  const env = { B2_KEY_ID: '0031234567890abc', B2_SECRET: 'K003verysecretvalue0123456789', REPLICA_KEY: KEY, BAD_KEY: 'tapo-key-v1:' + Buffer.alloc(31, 9).toString('base64url') };
  const s3 = 'type: s3, endpoint: "https://s3.example.com", bucket: my-cams, accessKeyId: "${B2_KEY_ID}", secretAccessKey: "${B2_SECRET}"';
  const yaml = (entry: string) => `recordingsDir: /srv/rec\ncameras:\n  - { id: cam1, url: "rtsp://u:p@cam/1" }\nreplicas:\n  - { id: r1, ${entry} }\n`;
  const problem = (entry: string): string => {
    try {
      parseConfig(yaml(entry), FILE, env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const m = (e as Error).message;
      expect(m.split('\n'), m).toHaveLength(1);
      for (const secret of [KEY, env.BAD_KEY, KEY.slice(12), env.BAD_KEY.slice(12)]) expect(m).not.toContain(secret);
      return m;
    }
    throw new Error('no ConfigError');
  };

  it('parses the key of an s3 and a directory entry (hideNames defaults to false)', async () => {
    const { replicaKeyText } = await import('./replicas.js');
    const a = parseConfig(yaml(`${s3}, encryption: { key: "\${REPLICA_KEY}" }`), FILE, env).replicas[0]!;
    expect(a.type).toBe('s3');
    if (a.type !== 's3' || !a.encryption) throw new Error('no encryption');
    expect(a.encryption.hideNames).toBe(false);
    expect(a.encryption.key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(replicaKeyText(a.encryption.key)).toBe(KEY);
    expect(JSON.stringify(a)).not.toContain(KEY.slice(12));
    const d = parseConfig(yaml('type: directory, path: /mnt/nas, encryption: { key: "${REPLICA_KEY}", hideNames: true }'), FILE, env).replicas[0]!;
    if (d.type !== 'directory' || !d.encryption) throw new Error('no encryption');
    expect(d.encryption.hideNames).toBe(true);
    expect(d.encryption.key.id).toBe(a.encryption.key.id);
    expect(parseConfig(yaml('type: directory, path: /mnt/nas'), FILE, env).replicas[0]).not.toHaveProperty('encryption');
  });

  it('a bad key is one line naming the field, never the key', () => {
    expect(problem(`${s3}, encryption: { key: "\${BAD_KEY}" }`)).toMatch(/field "replicas\[0\]\.encryption\.key": the key holds 31 bytes, expected 32/);
    expect(problem('type: directory, path: /mnt/nas, encryption: { key: "not-a-key" }')).toMatch(/replicas\[0\]\.encryption\.key.*must start with "tapo-key-v1:".*recorder keygen/);
    expect(problem('type: directory, path: /mnt/nas, encryption: { key: "" }')).toMatch(/replicas\[0\]\.encryption\.key.*is empty/);
    expect(problem('type: directory, path: /mnt/nas, encryption: { key: "${NO_SUCH_VAR}" }')).toMatch(/NO_SUCH_VAR/);
    expect(problem('type: directory, path: /mnt/nas, encryption: { key: "${REPLICA_KEY}", hide: true }')).toMatch(/encryption.*unknown key "hide"/);
  });

  it('refuses encryption on an http entry', () => {
    const m = problem('type: http, url: "https://office:3000", token: 0123456789abcdef0123, encryption: { key: "${REPLICA_KEY}" }');
    expect(m).toMatch(/replicas\[0\]\.encryption.*not for type http.*play and index.*https.*token/);
  });
});
