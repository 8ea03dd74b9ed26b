// @tapo/replica-protocol: the HTTP contract between an installation that sends off-site copies and the one that receives them (path, headers, segment URL).
export { RECEIVE_PATH, REPLICA_HEADERS, liveUrl, segmentUrl } from './protocol.js';
