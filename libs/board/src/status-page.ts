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
  live?: Array<{ cameraId: string; lagSeconds: number; bytesPerHour: number; liveBytesPerHour: number; requestsPerHour: number; liveRequestsPerHour: number; up: boolean }>;
}

/** "cam1 0.4 s behind · 1.1 GB/h · 1800 req/h" per camera with a live sender. */
function liveText(r: ReplicaRow): string {
  if (!r.live?.length) return '<small>no live copy now</small>';
  return r.live
    .map((l) => `<span class="live-lag" data-camera="${esc(l.cameraId)}">${esc(l.cameraId)}: ${l.up ? `${esc(l.lagSeconds.toFixed(1))} s behind live` : 'waiting for the target'}</span><br><small>${esc(fmtBytes(l.bytesPerHour))} and ${esc(l.requestsPerHour)} requests per camera-hour</small>`)
    .join('<br>');
}

function renderReplicas(rows: ReplicaRow[]): string {
  if (rows.length === 0) return '';
  const ago = (ms?: number) => (ms ? `${fmtDuration(Math.round((Date.now() - ms) / 1000))} ago` : 'never');
  // one card per target (a table of 7 columns does not fit a phone)
  const cards = rows
    .map(
      (r) => `<div class="card replica" data-replica="${esc(r.id)}">
  <h3>${esc(r.id)} <span class="state ${r.up === false ? 'reconnecting' : 'recording'}">${r.up === false ? 'unreachable' : 'ok'}</span></h3>
  <dl>
    <dt>where</dt><dd class="where">${esc(r.where)}</dd>
    <dt>waiting</dt><dd>${esc(r.waiting)}${r.oldestWaitingStartMs ? ` <small>(oldest from ${esc(ago(r.oldestWaitingStartMs))})</small>` : ''}</dd>
    <dt>failed</dt><dd>${esc(r.failed)}</dd>
    <dt>last copy</dt><dd>${esc(ago(r.lastSuccessMs))}</dd>
    <dt>live</dt><dd>${liveText(r)}</dd>
  </dl>
  ${r.up === false && r.lastError ? `<small>${esc(r.lastError)}</small>` : ''}
</div>`,
    )
    .join('\n');
  return `<h2>Off-site copies</h2>
<div class="cards">
${cards}
</div>`;
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
  <a href="live/${id}">live</a> · <a href="timeline?camera=${id}">timeline</a> · <a href="export?camera=${id}">export</a>
</div>`;
    })
    .join('\n');
  return page('Cameras', `<div class="cards">\n${cards || '<p>no cameras configured</p>'}\n</div>\n${renderReplicas(replicas)}`, { refreshSeconds: 10 });
}
