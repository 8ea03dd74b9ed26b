// @tapo/http-guard: what the board's HTTP server refuses before any route runs
// (unknown Host names, cross-site writes, password guessing, slow and flooding
// clients) and the bounded map used for per-id caches.
export { createHostAllowList, hostnameOf, parseAllowedHosts, type HostAllowList } from './host-allow.js';
export { crossSiteReason, hasNonJsonBody } from './same-origin.js';
export { LoginThrottle, type LoginThrottleOptions, type EndedBurst } from './login-throttle.js';
export { guardServer, serverOptions, closeAfterAnswer, type ServerGuard, type ServerGuardOptions } from './server-guard.js';
export { LruMap } from './lru.js';
