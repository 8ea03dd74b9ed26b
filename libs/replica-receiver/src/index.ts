// @tapo/replica-receiver: the receiving side of off-site copies, the board's endpoint where other installations' http replicas put their segments.
export { createReceiveRouter, type ReceiveRouterOptions, type StoredSegment } from './receive-router.js';
export { matchBearer, receiveTarget, suspiciousRawPath, type ReceiveTarget } from './receive-auth.js';
