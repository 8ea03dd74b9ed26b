import { describe, expect, it } from 'vitest';
import type { DirectoryReplica, HttpReplica } from '@tapo/config';
import { createReplicaTarget, replicaSecrets } from './index.js';

const dir = (over: Partial<DirectoryReplica> = {}): DirectoryReplica => ({ id: 'nas', type: 'directory', path: '/mnt/nas', retention: {}, alertAfterSeconds: 300, ...over });
const web: HttpReplica = { id: 'office', type: 'http', url: 'https://u:p@office:3000', token: 'secret-token-0123456789', retention: { maxAgeSeconds: 60 }, alertAfterSeconds: 300, live: true };

describe('replica target registry', () => {
  it('maps each config type to its target', () => {
    const nas = createReplicaTarget(dir());
    expect(nas).toMatchObject({ id: 'nas', where: '/mnt/nas' });
    expect(nas.prune).toBeUndefined();
    expect(createReplicaTarget(dir({ retention: { maxBytes: 1e9 } })).prune).toBeTypeOf('function');
    const office = createReplicaTarget(web);
    expect(office).toMatchObject({ id: 'office', where: 'https://***@office:3000' });
    expect(office.prune).toBeUndefined(); // the receiving installation keeps its own retention
    expect(JSON.stringify(office)).not.toContain('secret-token');
  });

  it('names the secrets that must stay out of logs', () => {
    expect(replicaSecrets(dir())).toEqual([]);
    expect(replicaSecrets(web)).toEqual(['secret-token-0123456789']);
  });
});
