import type { CameraStatus } from '@tapo/status';
import { esc, fmtBytes, fmtDuration, page } from './html.js';

function fmtBitrate(bps: number | undefined): string {
  if (!bps) return '';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

/** The cameras page: one card per camera, refreshing itself. */
/** One replica target, as the status page shows it (from replicationStatus). */
export interface ReplicaRow {
  id: string;
  where: string;
  waiting: number;
  failed: number;
  up?: boolean;
  lastError?: string;
  lastSuccessMs?: number;
  oldestWaitingStartMs?: number;
  live?: Array<{ cameraId: string; lagSeconds: number; bytesPerHour: number; liveBytesPerHour: number; requestsPerHour: number; up: boolean }>;
}

/** "cam1 0.4 s behind · 1.1 GB/h · 1800 req/h" per camera with a live sender. */
function liveText(r: ReplicaRow): string {
  if (!r.live?.length) return '<small>no live copy now</small>';
  return r.live
    .map((l) => `<span class="live-lag" data-camera="${esc(l.cameraId)}">${esc(l.cameraId)}: ${l.up ? `${esc(l.lagSeconds.toFixed(1))} s behind` : 'waiting for the target'}</span> <small>(${esc(fmtBytes(l.bytesPerHour))}/h, ${esc(l.requestsPerHour)} requests/h)</small>`)
    .join('<br>');
}

function renderReplicas(rows: ReplicaRow[]): string {
  if (rows.length === 0) return '';
  const ago = (ms?: number) => (ms ? `${fmtDuration(Math.round((Date.now() - ms) / 1000))} ago` : 'never');
  const tr = rows
    .map(
      (r) => `<tr><td>${esc(r.id)}</td><td>${esc(r.where)}</td><td class="state ${r.up === false ? 'reconnecting' : 'recording'}">${r.up === false ? 'unreachable' : 'ok'}</td>` +
        `<td>${esc(r.waiting)}${r.oldestWaitingStartMs ? ` <small>(oldest from ${esc(ago(r.oldestWaitingStartMs))})</small>` : ''}</td><td>${esc(r.failed)}</td><td>${esc(ago(r.lastSuccessMs))}</td>` +
        `<td>${liveText(r)}</td><td><small>${r.up === false ? esc(r.lastError ?? '') : ''}</small></td></tr>`,
    )
    .join('\n');
  return `<h2>Off-site copies</h2>
<table><tr><th>replica</th><th>where</th><th>state</th><th>waiting</th><th>failed</th><th>last copy</th><th>live (per camera-hour)</th><th></th></tr>
${tr}
</table>`;
}

export function renderStatusPage(cameras: CameraStatus[], replicas: ReplicaRow[] = []): string {
  const cards = cameras
    .map((c) => {
      const id = encodeURIComponent(c.id);
      const err = c.lastError ?? c.failedReason;
      return `<div class="card">
  <a href="timeline?camera=${id}"><img src="api/cameras/${id}/thumbnail.jpg" alt="latest image of ${esc(c.id)}" loading="lazy"></a>
  <h2>${esc(c.id)}${c.name ? ` <small>${esc(c.name)}</small>` : ''}</h2>
  <div class="state ${esc(c.state)}">${esc(c.state)}</div>
  ${err && c.state !== 'recording' ? `<small>${esc(err)}</small>` : ''}
  <dl>
    <dt>worker</dt><dd>${esc(c.host ?? '')}</dd>
    <dt>uptime</dt><dd>${esc(fmtDuration(c.uptimeSeconds))}</dd>
    <dt>bitrate</dt><dd>${esc(fmtBitrate(c.bitrateBps))}</dd>
    <dt>fps</dt><dd>${c.fps !== undefined ? esc(c.fps) : ''}</dd>
    <dt>last segment</dt><dd>${esc(c.lastSegmentAt ?? '')}</dd>
    <dt>disk used</dt><dd>${esc(fmtBytes(c.diskBytes))}${c.segmentCount !== undefined ? ` <small>(${esc(c.segmentCount)} segments)</small>` : ''}</dd>
    <dt>heartbeat</dt><dd>${c.heartbeatAgeSeconds !== undefined ? `${esc(c.heartbeatAgeSeconds)} s ago` : ''}</dd>
  </dl>
  <a href="timeline?camera=${id}">timeline</a> · <a href="export?camera=${id}">export</a>
</div>`;
    })
    .join('\n');
  return page('Cameras', `<div class="cards">\n${cards || '<p>no cameras configured</p>'}\n</div>\n${renderReplicas(replicas)}`, { refreshSeconds: 10 });
}
