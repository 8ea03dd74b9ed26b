import path from 'node:path';
import type { RecorderConfig } from '@tapo/config';

/** The config `npm start` uses when there is no cameras file: the simulated camera. */
export function demoConfig(cameraUrl: string, recordingsDir = './recordings'): RecorderConfig {
  return {
    file: '<built-in demo: simulated camera>',
    recordingsDir: path.resolve(recordingsDir),
    segmentSeconds: 10,
    stallTimeoutSeconds: 10,
    concurrency: 16,
    retention: { maxAgeSeconds: 24 * 3600, maxBytes: 2e9 },
    minFreeDisk: { percent: 5 },
    pruneEverySeconds: 60,
    storage: 'shared',
    repair: { remuxFragmented: false, fullDecode: false },
    replicas: [],
    receive: { tokens: [], maxBytes: 2 * 1024 ** 3, liveIdleSeconds: 20 },
    alerts: { offlineAfterSeconds: 30, minIntervalSeconds: 60, diskNearlyFullPercent: 97, targets: [] },
    cameras: [
      {
        id: 'sim-camera',
        name: 'Simulated camera',
        url: cameraUrl,
        segmentSeconds: 10,
        audio: 'aac',
        enabled: true,
        retention: { maxAgeSeconds: 24 * 3600, maxBytes: 2e9 },
      },
    ],
  };
}
