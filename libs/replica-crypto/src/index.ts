export { KEY_PREFIX, ReplicaKey, ReplicaCryptoError, generateKeyText, parseReplicaKey } from './key.js';
export { DEFAULT_RECORD_BYTES, HEADER_BYTES, createOpenStream, createSealStream, openBuffer, sealBuffer, sealedSize } from './sealed.js';
