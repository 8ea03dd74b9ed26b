import type { CameraStatus } from './cameras-api.js';
import { esc, fmtBytes, fmtDuration, page } from './html.js';

function fmtBitrate(bps: number | undefined): string {
  if (!bps) return '';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

/** The cameras page: one card per camera, refreshing itself. */
export function renderStatusPage(cameras: CameraStatus[]): string {
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
  return page('Cameras', `<div class="cards">\n${cards || '<p>no cameras configured</p>'}\n</div>`, { refreshSeconds: 10 });
}
