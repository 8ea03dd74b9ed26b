import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** How a replica key is written in the config / env: a prefix naming the format, then 32 bytes in base64url. */
export const KEY_PREFIX = 'tapo-key-v1:';
const KEY_BYTES = 32;

export class ReplicaCryptoError extends Error {
  override name = 'ReplicaCryptoError';
}

/** A parsed replica key with what is derived from it (never logged: `toString` / JSON say only its id). */
export class ReplicaKey {
  /** Encrypts the data (AES-256-GCM). */
  readonly dataKey: Buffer;
  /** Makes object names that do not reveal camera ids (HMAC-SHA256). */
  readonly nameKey: Buffer;
  /** Says which key encrypted an object without revealing it (16 hex characters). */
  readonly id: string;

  constructor(secret: Buffer) {
    if (secret.length !== KEY_BYTES) throw new ReplicaCryptoError(`replica key: ${secret.length} bytes, expected ${KEY_BYTES}`);
    this.dataKey = Buffer.from(hkdfSync('sha256', secret, 'tapo-recorder', 'replica data v1', 32));
    this.nameKey = Buffer.from(hkdfSync('sha256', secret, 'tapo-recorder', 'replica names v1', 32));
    this.id = createHash('sha256').update('tapo-recorder replica key id v1\0').update(secret).digest('hex').slice(0, 16);
  }

  toString(): string {
    return `[replica key ${this.id}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  /** A stable stand-in for a camera id in object names (`c` + 16 hex characters), the same for every installation holding this key. */
  cameraAlias(cameraId: string): string {
    return `c${createHmac('sha256', this.nameKey).update(`camera\0${cameraId}`).digest('hex').slice(0, 16)}`;
  }
}

/** A new key in its text form (for `recorder keygen`). */
export function generateKeyText(): string {
  return KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
}

/** Parses the text form; a one-line error names what is wrong (never the key itself). */
export function parseReplicaKey(text: string | undefined, where = 'replica key'): ReplicaKey {
  const t = (text ?? '').trim();
  if (!t) throw new ReplicaCryptoError(`${where} is empty (recorder keygen prints a new one)`);
  if (!t.startsWith(KEY_PREFIX)) throw new ReplicaCryptoError(`${where} must start with "${KEY_PREFIX}" (recorder keygen prints one)`);
  const body = t.slice(KEY_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new ReplicaCryptoError(`${where} has characters outside base64url after "${KEY_PREFIX}"`);
  const secret = Buffer.from(body, 'base64url');
  if (secret.length !== KEY_BYTES || secret.toString('base64url') !== body) {
    throw new ReplicaCryptoError(`${where} holds ${secret.length} bytes, expected ${KEY_BYTES} (${KEY_PREFIX} then 43 base64url characters)`);
  }
  return new ReplicaKey(secret);
}
