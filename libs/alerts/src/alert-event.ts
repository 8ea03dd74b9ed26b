import type { AlertEventType } from '@tapo/config';
import { redactText } from '@tapo/log';
import type { AlertEvent } from '@tapo/queues';
import { formatBytes, formatDuration, formatUtcTime } from './format-units.js';

/** Events that close an episode opened by another event ("back" after "offline"). */
const RECOVERY_EVENTS: ReadonlySet<AlertEventType> = new Set<AlertEventType>(['camera-back', 'replica-back']);

export function isRecoveryEvent(type: AlertEventType): boolean {
  return RECOVERY_EVENTS.has(type);
}

export type AlertPriority = 'default' | 'high' | 'urgent';

export interface FormattedAlert {
  title: string;
  message: string;
  priority: AlertPriority;
  /** ntfy tags: the first one is an emoji short code, then the event type. */
  tags: string[];
}

const pct = (n: number) => `${Math.round(n * 10) / 10}%`;

function describeEvent(event: AlertEvent): { title: string; message: string; priority: AlertPriority; emoji: string } {
  const cam = `Camera "${event.cameraId ?? '?'}"`;
  const rep = `Replica "${event.replicaId ?? '?'}"`;
  switch (event.type) {
    case 'camera-offline': {
      const d = event.details;
      const since = d.lastVideoAt
        ? `no video since ${formatUtcTime(d.lastVideoAt, event.at)} (${formatDuration(d.offlineForSeconds)})`
        : `no video for ${formatDuration(d.offlineForSeconds)}`;
      return { title: `${cam} is offline`, message: d.reason ? `${since}: ${d.reason}` : since, priority: 'high', emoji: 'warning' };
    }
    case 'camera-back':
      return { title: `${cam} is back`, message: `offline for ${formatDuration(event.details.outageSeconds)}`, priority: 'default', emoji: 'white_check_mark' };
    case 'auth-failing': {
      const d = event.details;
      const since = d.lastVideoAt ? ` (no video since ${formatUtcTime(d.lastVideoAt, event.at)})` : '';
      return {
        title: `${cam} rejects the user name or password`,
        message: `authentication failing${since}: ${d.message}`,
        priority: 'high',
        emoji: 'closed_lock_with_key',
      };
    }
    case 'disk-nearly-full': {
      const d = event.details;
      return {
        title: `Recordings disk nearly full (${pct(d.usedPercent)})`,
        message: `${pct(d.usedPercent)} used, ${formatBytes(d.freeBytes)} free`,
        priority: 'high',
        emoji: 'floppy_disk',
      };
    }
    case 'emergency-prune': {
      const d = event.details;
      const deleted = d.deletedSegments !== undefined ? `deleted ${d.deletedSegments} oldest segment(s) to make room; ` : '';
      return {
        title: 'Recordings disk full: emergency prune',
        message: `${deleted}${pct(d.usedPercent)} used, ${formatBytes(d.freeBytes)} free`,
        priority: 'urgent',
        emoji: 'rotating_light',
      };
    }
    case 'replica-unreachable':
      return {
        title: `${rep} is unreachable`,
        message: `failing for ${formatDuration(event.details.downForSeconds)}: ${event.details.lastError}`,
        priority: 'high',
        emoji: 'warning',
      };
    case 'replica-back':
      return { title: `${rep} is reachable again`, message: `unreachable for ${formatDuration(event.details.downForSeconds)}`, priority: 'default', emoji: 'white_check_mark' };
    case 'segment-unrecoverable':
      return {
        title: `${cam}: a segment cannot be repaired`,
        message: `${event.details.file}: ${event.details.reason}`,
        priority: 'default',
        emoji: 'x',
      };
  }
}

/**
 * The human text of an alert. Pure; every string is redacted (URL credentials
 * and registered secrets), whatever the event carries.
 */
export function formatAlert(event: AlertEvent, opts: { installName?: string } = {}): FormattedAlert {
  const d = describeEvent(event);
  const title = opts.installName ? `[${opts.installName}] ${d.title}` : d.title;
  return {
    title: redactText(title),
    message: redactText(d.message),
    priority: d.priority,
    tags: [d.emoji, event.type].map(redactText),
  };
}
