export const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function fmtBytes(n: number | undefined): string {
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

export function fmtDuration(s: number | undefined): string {
  if (s === undefined) return '';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
}

export const CSS = `
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
nav a{margin-right:1rem}
.cards{display:flex;flex-wrap:wrap;gap:1rem}
.card{border:1px solid #ccc;border-radius:6px;padding:.8rem;width:340px;max-width:100%;box-sizing:border-box}.card .where{overflow-wrap:anywhere}.card h3{margin:.2rem 0}
.card img{width:100%;aspect-ratio:16/9;background:#eee;object-fit:cover}
.state{font-weight:bold}.recording{color:#0a0}.reconnecting,.failed,.auth-failed{color:#c00}.disabled,.queued{color:#888}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .6rem;margin:.4rem 0}dt{color:#666}dd{margin:0}
small{color:#666}
.bar{position:relative;height:40px;background:#eee;border:1px solid #aaa;margin:1rem 0}
.bar a{position:absolute;top:0;bottom:0;background:#3a7;min-width:2px}
.bar a:hover{background:#185}
.ticks{position:relative;height:1.2rem;font-size:.75rem;color:#666}
.ticks span{position:absolute;transform:translateX(-50%)}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
`;

export function page(title: string, body: string, opts: { refreshSeconds?: number } = {}): string {
  return `<!doctype html>
<html><head><meta charset="utf-8">${opts.refreshSeconds ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : ''}
<title>${esc(title)} · tapo-recorder</title>
<style>${CSS}</style></head>
<body>
<nav><a href="./">cameras</a><a href="live">live</a><a href="timeline">timeline</a><a href="export">export</a><a href="queues">Bull Board (jobs)</a><a href="api/cameras">JSON</a></nav>
<h1>${esc(title)}</h1>
${body}
</body></html>`;
}
