import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseConfig } from './load.js';
import { resolveReplicaFields } from './replicas.js';

const ctx = { baseDir: '/etc/recorder', recordingsDir: '/srv/rec' };

describe('replica types (config side)', () => {
  it('resolves each type\'s own fields', () => {
    expect(resolveReplicaFields({ type: 'directory', path: 'nas' }, ctx)).toEqual({ fields: { type: 'directory', path: '/etc/recorder/nas' } });
    expect(resolveReplicaFields({ type: 'http', url: 'https://office:3000//', token: 't' }, ctx)).toEqual({ fields: { type: 'http', url: 'https://office:3000', token: 't' } });
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
      retention: { maxAgeSeconds: 30 * 86_400 },
      alertAfterSeconds: 600,
    });
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
