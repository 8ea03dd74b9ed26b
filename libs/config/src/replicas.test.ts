import { describe, expect, it } from 'vitest';
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
