import type { SegmentRecord } from '@tapo/segment-index';
import { esc, fmtDuration, page } from './html.js';

export interface Span {
  startMs: number;
  endMs: number;
  /** Relative paths of the segments in the span, oldest first. */
  files: string[];
}

/** Merges consecutive segments into spans (a gap shorter than `maxGapMs` joins them). */
export function buildSpans(segments: SegmentRecord[], maxGapMs = 2000): Span[] {
  const sorted = [...segments].sort((a, b) => a.startMs - b.startMs);
  const spans: Span[] = [];
  for (const s of sorted) {
    const end = s.startMs + s.durationMs;
    const last = spans.at(-1);
    if (last && s.startMs - last.endMs < maxGapMs) {
      last.endMs = Math.max(last.endMs, end);
      last.files.push(s.file);
    } else {
      spans.push({ startMs: s.startMs, endMs: end, files: [s.file] });
    }
  }
  return spans;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function cameraSelect(cameras: string[], selected: string | undefined): string {
  return `<select name="camera">${cameras.map((c) => `<option${c === selected ? ' selected' : ''}>${esc(c)}</option>`).join('')}</select>`;
}

export function renderTimelinePage(view: {
  cameras: string[];
  camera: string | undefined;
  day: string | undefined;
  fromMs: number;
  toMs: number;
  spans: Span[];
}): string {
  const total = view.toMs - view.fromMs;
  const pct = (ms: number) => (((Math.min(Math.max(ms, view.fromMs), view.toMs) - view.fromMs) / total) * 100).toFixed(3);
  const cam = view.camera ? encodeURIComponent(view.camera) : '';
  const bars = view.spans
    .map((s) => {
      const left = pct(s.startMs);
      const width = (Number(pct(s.endMs)) - Number(left)).toFixed(3);
      const href = `play?camera=${cam}&file=${encodeURIComponent(s.files[0]!)}`;
      return `<a href="${esc(href)}" style="left:${left}%;width:${width}%" title="${esc(iso(s.startMs))} – ${esc(iso(s.endMs))}"></a>`;
    })
    .join('');
  const ticks = Array.from({ length: 9 }, (_, i) => {
    const t = view.fromMs + (total * i) / 8;
    return `<span style="left:${(i * 12.5).toFixed(1)}%">${esc(new Date(t).toISOString().slice(11, 16))}</span>`;
  }).join('');
  const rows = view.spans
    .map((s) => {
      const href = `play?camera=${cam}&file=${encodeURIComponent(s.files[0]!)}`;
      return `<tr><td><a href="${esc(href)}">${esc(iso(s.startMs))}</a></td><td>${esc(iso(s.endMs))}</td><td>${esc(fmtDuration((s.endMs - s.startMs) / 1000))}</td><td>${s.files.length}</td></tr>`;
    })
    .join('\n');
  const gaps: string[] = [];
  for (let i = 1; i < view.spans.length; i++) {
    gaps.push(`${iso(view.spans[i - 1]!.endMs)} – ${iso(view.spans[i]!.startMs)}`);
  }
  const body = `
<form method="get" action="timeline">camera ${cameraSelect(view.cameras, view.camera)}
 day (UTC) <input type="date" name="day" value="${esc(view.day ?? '')}"> <button>show</button> <small>(no day: the last 24 h)</small></form>
<p>${esc(iso(view.fromMs))} – ${esc(iso(view.toMs))} (UTC). Green: recorded; click to play.</p>
<div class="bar">${bars}</div>
<div class="ticks">${ticks}</div>
<h2>Recorded spans</h2>
<table><thead><tr><th>from</th><th>to</th><th>length</th><th>segments</th></tr></thead><tbody>
${rows || '<tr><td colspan="4">nothing recorded in this period</td></tr>'}
</tbody></table>
${gaps.length ? `<h2>Gaps</h2><ul>${gaps.map((g) => `<li>${esc(g)}</li>`).join('')}</ul>` : ''}
${view.camera ? `<p><a href="export?camera=${cam}">export a time range of ${esc(view.camera)}</a></p>` : ''}`;
  return page(`Timeline${view.camera ? `: ${view.camera}` : ''}`, body);
}

/** The player: the segment, then the following ones of its span, one after another. */
export function renderPlayPage(view: { camera: string; file: string; next: string[] }): string {
  const src = (f: string) => `api/segments/${f.split('/').map(encodeURIComponent).join('/')}`;
  const list = [view.file, ...view.next].map(src);
  const body = `
<p>${esc(view.file)}</p>
<video id="v" controls autoplay muted playsinline width="960" src="${esc(list[0])}"></video>
<p><a id="dl" href="${esc(list[0])}?download=1">download this segment</a> ·
<a href="timeline?camera=${encodeURIComponent(view.camera)}&day=${esc(view.file.split('/')[1] ?? '')}">timeline</a></p>
<p><small id="pos"></small></p>
<script>
const list = ${JSON.stringify(list).replace(/</g, '\\u003c')};
let i = 0;
const v = document.getElementById('v'), dl = document.getElementById('dl'), pos = document.getElementById('pos');
const show = () => { pos.textContent = 'segment ' + (i + 1) + ' of ' + list.length + ' in this span'; };
show();
v.addEventListener('ended', () => {
  if (i + 1 < list.length) { i++; v.src = list[i]; dl.href = list[i] + '?download=1'; show(); v.play().catch(() => {}); }
});
</script>`;
  return page(`Play: ${view.camera}`, body);
}

export function renderExportPage(view: { cameras: string[]; camera: string | undefined; from: string; to: string }): string {
  const body = `
<form id="f">camera ${cameraSelect(view.cameras, view.camera)}
 from (UTC) <input type="datetime-local" step="1" name="from" value="${esc(view.from)}">
 to (UTC) <input type="datetime-local" step="1" name="to" value="${esc(view.to)}">
 <button>export</button></form>
<p><small>Whole segments overlapping the range are joined (no re-encoding), so the file may start a little before and end a little after.</small></p>
<p id="status"></p>
<script>
const f = document.getElementById('f'), st = document.getElementById('status');
f.addEventListener('submit', async (e) => {
  e.preventDefault();
  const d = new FormData(f);
  const body = { camera: d.get('camera'), from: d.get('from') + 'Z', to: d.get('to') + 'Z' };
  st.textContent = 'queued…';
  const r = await fetch('api/exports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) { st.textContent = 'error: ' + (j.error || r.status); return; }
  const poll = async () => {
    const s = await (await fetch('api/exports/' + encodeURIComponent(j.id))).json();
    if (s.state === 'completed') {
      st.innerHTML = '';
      const a = document.createElement('a');
      a.href = s.downloadUrl.replace(/^\\//, ''); a.textContent = 'download (' + s.result.segments + ' segments, ' + Math.round(s.result.durationSeconds) + ' s)';
      st.appendChild(a);
    } else if (s.state === 'failed') { st.textContent = 'failed: ' + s.failedReason; }
    else { st.textContent = s.state + ' ' + ((s.progress && s.progress.percent) || 0) + ' %'; setTimeout(poll, 1000); }
  };
  poll();
});
</script>`;
  return page('Export', body);
}
