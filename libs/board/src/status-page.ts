import type { CameraStatus } from './cameras-api.js';

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function fmtBytes(n: number | undefined): string {
  if (!n) return '0 B';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** A small server-rendered overview: one row per camera, refreshing itself. */
export function renderStatusPage(cameras: CameraStatus[]): string {
  const rows = cameras
    .map((c) => {
      const p = c.progress;
      const ok = c.state === 'recording';
      return `<tr class="${ok ? 'ok' : 'bad'}">
  <td>${esc(c.id)}${c.name ? `<br><small>${esc(c.name)}</small>` : ''}</td>
  <td><b>${esc(c.state)}</b>${p?.lastError && !ok ? `<br><small>${esc(p.lastError)}</small>` : ''}${c.failedReason ? `<br><small>${esc(c.failedReason)}</small>` : ''}</td>
  <td>${esc(p?.host ?? '')}</td>
  <td>${p ? esc(p.fps) : ''}</td>
  <td>${p ? esc(fmtBytes(p.bytes)) : ''}</td>
  <td>${esc(p?.segment ?? '')}</td>
  <td>${esc(p?.lastSegment?.closedAt ?? '')}</td>
  <td>${c.heartbeatAgeSeconds !== undefined ? `${esc(c.heartbeatAgeSeconds)} s ago` : ''}</td>
  <td>${p ? esc(p.restarts) : ''}</td>
</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>tapo-recorder</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
tr.ok td:nth-child(2){color:#0a0}tr.bad td:nth-child(2){color:#c00}small{color:#666}
</style></head>
<body>
<h1>tapo-recorder</h1>
<p><a href="queues">Bull Board (jobs)</a> · <a href="api/cameras">JSON</a></p>
<table><thead><tr><th>camera</th><th>state</th><th>worker</th><th>fps</th><th>written</th><th>current segment</th><th>last segment closed</th><th>heartbeat</th><th>restarts</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="9">no cameras configured</td></tr>'}
</tbody></table>
</body></html>`;
}
