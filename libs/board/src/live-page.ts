// The live view pages (issue 14): /live/<camera> (one camera, full width) and
// /live (a grid of every camera). The player is the inline script below: one
// fetch() of /api/live/stream for the whole page carries the fragments of every
// camera on it (frames `[u8 kind][u8 cameraIndex][u32 BE length][payload]`),
// each camera's fragments go to a <video> through Media Source Extensions
// (ManagedMediaSource on Safari 17.1+). No build step, no external files.
import { esc, page } from './html.js';

export interface LiveCamera {
  id: string;
  name?: string;
}

export interface LivePageOptions {
  /** The cameras on the page, in the order of the stream's camera indexes. */
  cameras: LiveCamera[];
  /** true: /live/<id> (the first camera, full width, links to the cameras page and its timeline); false: the /live grid. */
  single: boolean;
}

/** The player's tunables (seconds), shared with the tests through the page. */
export const LIVE_PLAYER = {
  /** Further behind the newest buffered frame than this: jump. */
  maxLagSeconds: 1.5,
  /** Where a jump lands, before the newest buffered frame. */
  jumpToSeconds: 0.3,
  /**
   * Played catchUpRate× while the smallest lag of the last 2 s (the slack left just before the
   * next fragment arrives) is above catchUpAboveSeconds, back to 1× under catchUpUntilSeconds.
   */
  catchUpAboveSeconds: 0.45,
  catchUpUntilSeconds: 0.25,
  catchUpRate: 1.15,
  /** The first picture: more than this behind (the board starts with the fragments since the last keyframe), start at the edge. */
  startLagSeconds: 0.6,
  /** Buffer kept behind the playhead; trimmed once it grows keepBehind + 10 s. */
  keepBehindSeconds: 30,
  /** No byte from the board for this long (it sends a status every 5 s): reconnect. */
  silenceSeconds: 15,
} as const;

const STYLE = `
.live-links{display:flex;flex-wrap:wrap;gap:0 1.2rem;margin:.2rem 0 .6rem}
.live-links a{padding:.55rem 0}
.live-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,360px),1fr));gap:1rem}
.live-grid.single{grid-template-columns:1fr}
.live-tile{margin:0;min-width:0}
.live-tile figcaption{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:0 .75rem;padding:.2rem 0;min-height:1.6rem}
.live-tile figcaption a{font-weight:bold;display:inline-block;padding:.45rem 0;overflow-wrap:anywhere}
.single figcaption{justify-content:flex-end}
.live-box{position:relative;width:100%;aspect-ratio:16/9;background:#111;border-radius:6px;overflow:hidden}
.live-box{max-height:calc(100vh - 9rem);min-height:180px}
.live-box video{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#111}
.live-overlay{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);max-width:88%;box-sizing:border-box;padding:.6rem .9rem;border-radius:6px;background:rgba(0,0,0,.68);color:#fff;text-align:center;font-size:1rem;line-height:1.35}
.live-overlay small{display:block;color:#ddd;font-size:.8rem;margin-top:.2rem}
.live-overlay[hidden]{display:none}
.live-overlay{pointer-events:none}.live-overlay.tap{pointer-events:auto;cursor:pointer}
.live-grid:not(.single) video{cursor:pointer}
.live-unmute{position:absolute;left:.5rem;bottom:.5rem;display:flex;align-items:center;gap:.4rem;min-width:44px;min-height:44px;padding:0 1rem 0 .75rem;border:2px solid rgba(255,255,255,.85);border-radius:22px;background:rgba(0,0,0,.72);color:#fff;font:inherit;font-size:.95rem;cursor:pointer}
.live-unmute svg{width:22px;height:22px;flex:none}
.live-unmute:disabled{opacity:.6;cursor:default}
.live-unmute:focus-visible{outline:3px solid #fff}
.live-unmute[hidden]{display:none}
.live-lag{color:#555;font-size:.8rem;font-variant-numeric:tabular-nums;margin-left:auto}
@media (max-width:600px){body{margin:.75rem}h1{font-size:1.4rem;margin:.6rem 0}}
`;

/** Sets the document's base to the board's root (the page may be /live, /live/ or /live/<id>, behind a path prefix or not). */
const BASE_SCRIPT = String.raw`<script>(function(){var b=document.createElement('base');b.href=location.pathname.replace(/\/live(?:\/[^\/]*)?\/?$/,'/');document.head.appendChild(b);})();</script>`;

const PLAYER = String.raw`
(function () {
  'use strict';
  var CFG = JSON.parse(document.getElementById('live-config').textContent);
  var T = CFG.player;
  var MS = window.ManagedMediaSource || window.MediaSource;
  var MANAGED = !!window.ManagedMediaSource && MS === window.ManagedMediaSource;
  var NO_MSE = 'this browser cannot play live video: Safari 17.1+ / Chrome / Firefox needed';
  var decoder = new TextDecoder();
  var now = function () { return performance.now(); };
  var conn = { connected: false, everConnected: false, connections: 0, error: '', lastByteAt: 0, backoffMs: 1000, firstRequestAt: 0, firstResponseAt: 0 };

  function Player(el, id, index) {
    var self = this;
    this.id = id; this.index = index; this.el = el;
    this.video = el.querySelector('video');
    this.overlay = el.querySelector('.live-overlay');
    this.btn = el.querySelector('.live-unmute');
    this.lagEl = el.querySelector('.live-lag');
    this.ms = null; this.sb = null; this.url = null;
    this.mime = null; this.init = null; this.hasInit = false; this.header = null;
    this.ops = []; this.queuedBytes = 0;
    this.status = null; this.fatal = ''; this.hasPicture = false; this.playBlocked = false; this.hasAudio = true;
    this.fragments = 0; this.bytes = 0; this.lastFragmentAt = 0; this.inits = 0; this.initsSkipped = 0;
    this.jumps = 0; this.rebuilds = 0; this.quotaTrims = 0; this.gaps = 0; this.droppedFragments = 0; this.typeChanges = 0;
    this.timing = {};
    this.lastTrimAt = 0; this.lastRebuildAt = 0; this.rebuildTimer = 0; this.quotaRetries = 0;
    if (MANAGED) this.video.disableRemotePlayback = true;
    this.video.muted = true;
    this.btn.addEventListener('click', function () { self.toggleMute(); });
    this.overlay.addEventListener('click', function () { if (self.playBlocked) self.play(); });
    // in the grid a tap on the picture opens the camera's own page
    var link = el.querySelector('figcaption a');
    if (link) this.video.addEventListener('click', function () { if (!self.playBlocked) location.href = link.href; });
    ['loadeddata', 'canplay', 'playing', 'timeupdate'].forEach(function (ev) {
      self.video.addEventListener(ev, function () {
        if (self.video.readyState >= 2 && !self.hasPicture) { self.hasPicture = true; self.render(); }
      });
    });
    this.events = [];
    ['loadedmetadata', 'loadeddata', 'canplay', 'canplaythrough', 'playing', 'waiting', 'seeked', 'pause', 'ratechange', 'emptied'].forEach(function (ev) {
      self.video.addEventListener(ev, function () { self.log(ev); });
    });
    this.video.addEventListener('playing', function () {
      if (!self.timing.playing) self.timing.playing = Math.round(now());
      self.playBlocked = false; self.render();
    });
    this.lags = []; this.minLag = undefined; this.startedAtEdge = false; this.stalls = 0; this.gapSkips = 0; this.hls = false;
    this.video.addEventListener('waiting', function () { if (self.hasPicture) self.stalls++; });
    this.video.addEventListener('error', function () { if (!self.hls) self.rebuild('the video element failed: ' + (self.video.error && (self.video.error.message || self.video.error.code))); });
  }

  // the last 40 things that happened to the player, for window.liveView.stats() (tests, bug reports;
  // window.liveViewDebug = true before the page's script runs keeps 400 and logs every fragment)
  Player.prototype.log = function (what) {
    var v = this.video;
    this.events.push(Math.round(now()) + ' ' + what + ' t=' + v.currentTime.toFixed(2) + ' rs=' + v.readyState + (v.buffered.length ? ' buf=' + v.buffered.start(0).toFixed(2) + '-' + v.buffered.end(v.buffered.length - 1).toFixed(2) : ''));
    if (this.events.length > (window.liveViewDebug ? 400 : 40)) this.events.shift();
  };

  Player.prototype.toggleMute = function () {
    var v = this.video;
    v.muted = !v.muted;
    if (!v.muted) {
      // one camera heard at a time
      players.forEach(function (p) { if (p !== this && !p.video.muted) { p.video.muted = true; p.renderButton(); } }, this);
      this.play();
    }
    this.renderButton();
  };

  var SPEAKER = '<path fill="currentColor" d="M3 9v6h4l5 5V4L7 9H3z"/>';
  var ICON_MUTED = '<svg viewBox="0 0 24 24" aria-hidden="true">' + SPEAKER + '<path stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M15.5 9.5l5 5M20.5 9.5l-5 5"/></svg>';
  var ICON_SOUND = '<svg viewBox="0 0 24 24" aria-hidden="true">' + SPEAKER + '<path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13"/></svg>';

  Player.prototype.renderButton = function () {
    var muted = this.video.muted;
    var key = !this.hasAudio ? 'none' : muted ? 'muted' : 'sound';
    this.btn.hidden = !!this.fatal && !this.hasPicture;
    if (this.btn.dataset.key === key) return;
    this.btn.dataset.key = key;
    this.btn.disabled = !this.hasAudio;
    this.btn.setAttribute('aria-pressed', String(!muted));
    this.btn.innerHTML = key === 'none' ? ICON_MUTED + '<span>no sound</span>' : muted ? ICON_MUTED + '<span>tap to unmute</span>' : ICON_SOUND + '<span>mute</span>';
    this.btn.setAttribute('aria-label', key === 'none' ? 'this camera records no sound' : muted ? 'unmute ' + this.id : 'mute ' + this.id);
  };

  Player.prototype.play = function () {
    var self = this;
    var p = this.video.play();
    if (p && p.catch) p.catch(function (e) {
      if (e && e.name === 'NotAllowedError') { self.playBlocked = true; self.render(); }
    });
  };

  // A fresh MediaSource and SourceBuffer for mime (the init goes in by the caller's op).
  Player.prototype.open = function (mime) {
    var self = this;
    this.closeSource();
    var ms = new MS();
    this.ms = ms; this.sb = null; this.mime = mime; this.hasInit = false; this.hasPicture = false;
    this.lastEnd = 0; this.stuck = 0; this.aborted = false; this.startedAtEdge = false; this.lags = [];
    this.url = URL.createObjectURL(ms);
    this.video.src = this.url;
    ms.addEventListener('sourceopen', function () {
      if (self.ms !== ms) return;
      try {
        self.sb = ms.addSourceBuffer(mime);
        // every segment file restarts its timestamps near 0: one after the other
        self.sb.mode = 'sequence';
      } catch (e) {
        self.sb = null; self.fail('cannot play ' + mime + ': ' + e.message); return;
      }
      self.sb.addEventListener('updateend', function () { self.checkGrowth(); self.pump(); });
      // an append the browser could not parse or decode ends the MediaSource: start again
      self.sb.addEventListener('error', function () { if (self.ms === ms) self.rebuild('the SourceBuffer refused a fragment'); });
      self.pump();
    });
  };

  Player.prototype.closeSource = function () {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null; this.ms = null; this.sb = null; this.ops = []; this.queuedBytes = 0;
  };

  Player.prototype.fail = function (why) { this.fatal = why; this.render(); };

  // Starts again from the last init (the decoder skips to the next keyframe by itself).
  Player.prototype.rebuild = function (why) {
    var self = this;
    if (!this.mime || this.rebuildTimer) return;
    var wait = Math.max(0, this.lastRebuildAt + 2000 - now());
    this.rebuildTimer = setTimeout(function () {
      self.rebuildTimer = 0; self.lastRebuildAt = now(); self.rebuilds++;
      self.log('rebuild: ' + why);
      console.warn('live view ' + self.id + ': player rebuilt (' + why + ')');
      var init = self.init;
      self.open(self.mime);
      if (init) { self.ops.push({ op: 'init', data: init }); self.hasInit = true; }
    }, wait);
  };

  Player.prototype.onStatus = function (j) {
    this.status = j;
    this.render();
  };

  Player.prototype.onInitHeader = function (j) { this.header = j; };

  Player.prototype.onInit = function (bytes) {
    var h = this.header || {};
    this.header = null;
    var mime = h.mimeType || this.mime;
    if (!mime) return;
    if (Array.isArray(h.codecs)) this.hasAudio = h.codecs.some(function (c) { return /^mp4a|^opus|^ac-3|^ec-3|^flac/.test(String(c)); });
    else this.hasAudio = /mp4a|opus/.test(mime);
    this.renderButton();
    if (!MS.isTypeSupported(mime)) { this.fail('this browser cannot play this camera\u2019s video (' + mime + ')'); return; }
    if (this.fatal) { this.fatal = ''; this.render(); }
    this.inits++;
    if (!this.timing.init) this.timing.init = Math.round(now());
    if (!this.ms) {
      this.open(mime);
    } else if (mime !== this.mime) {
      this.typeChanges++;
      if (this.sb && typeof this.sb.changeType === 'function') {
        this.ops.push({ op: 'type', mime: mime });
        this.mime = mime;
      } else {
        this.open(mime);
      }
    } else if (h.configChanged === false && this.hasInit) {
      this.initsSkipped++;
      if (window.liveViewDebug) this.log('init skipped (' + h.reason + ')');
      return; // same codec configuration: the SourceBuffer goes on with the one it has
    }
    // a copy: the last init is appended again when the player is rebuilt
    this.init = bytes.slice();
    this.ops.push({ op: 'init', data: this.init });
    this.hasInit = true;
    this.pump();
  };

  Player.prototype.onFragment = function (bytes) {
    this.fragments++; this.bytes += bytes.length; this.lastFragmentAt = now();
    if (this.fragments <= 3 || window.liveViewDebug) this.log('fragment ' + this.fragments + ' (' + bytes.length + ' bytes)');
    if (!this.timing.fragment) this.timing.fragment = Math.round(this.lastFragmentAt);
    if (!this.ms || !this.hasInit || this.fatal) return; // nothing to decode it with yet: wait for an init
    if (this.queuedBytes > 16e6) { this.rebuild('16 MB queued for the SourceBuffer'); return; }
    this.ops.push({ op: 'append', data: bytes });
    this.queuedBytes += bytes.length;
    this.pump();
    this.render();
  };

  Player.prototype.onGap = function (j) {
    this.gaps++;
    this.droppedFragments += (j && j.droppedFragments) || 0;
  };

  // One SourceBuffer operation at a time: trims, codec changes, appends.
  Player.prototype.pump = function () {
    var sb = this.sb, ms = this.ms;
    if (sb && ms && ms.readyState === 'ended') { this.rebuild('the MediaSource ended'); return; }
    if (!sb || !ms || ms.readyState !== 'open' || sb.updating) return;
    this.edge();
    if (this.trim(sb)) return;
    var op = this.ops.shift();
    if (!op) return;
    try {
      if (op.op === 'type') {
        sb.changeType(op.mime);
        sb.mode = 'sequence';
        this.pump();
        return;
      }
      sb.appendBuffer(op.data);
      if (op.op === 'append') { this.queuedBytes -= op.data.length; this.stuck++; }
      this.quotaRetries = 0;
    } catch (e) {
      if (e && e.name === 'QuotaExceededError' && this.quotaRetries < 3) {
        this.ops.unshift(op);
        this.quotaRetries++; this.quotaTrims++;
        this.log('QuotaExceededError');
        // keep only the last 5 s behind the playhead, then try again (on updateend). Not closer: a
        // removal also takes the frames up to the next keyframe after it (they depend on it).
        var b = sb.buffered, ct = this.video.currentTime;
        if (b.length && ct - 5 > b.start(0)) { sb.remove(b.start(0), ct - 5); return; }
        // nothing behind to free: the buffer ahead is full (not playing), start again at live
        this.rebuild('the SourceBuffer is full');
      } else {
        this.rebuild((e && e.name) + ': ' + (e && e.message));
      }
    }
  };

  // Fragments go in but the buffer does not grow (a cut or garbled box keeps the parser waiting):
  // reset the parser (it skips to the next keyframe), then start the SourceBuffer again.
  Player.prototype.checkGrowth = function () {
    var b = this.sb.buffered, end = b.length ? b.end(b.length - 1) : 0;
    if (end > this.lastEnd + 0.01) { this.lastEnd = end; this.stuck = 0; this.aborted = false; return; }
    if (this.stuck < 6) return;
    if (!this.aborted) {
      this.aborted = true; this.stuck = 0;
      this.log('stuck: parser reset');
      try { this.sb.abort(); this.sb.mode = 'sequence'; } catch (e) { this.rebuild('abort failed: ' + e.message); }
    } else {
      this.rebuild(this.stuck + ' fragments appended, nothing buffered');
    }
  };

  // Buffer older than keepBehind behind the playhead goes (memory stays flat for hours).
  Player.prototype.trim = function (sb) {
    var b = sb.buffered, ct = this.video.currentTime;
    if (!b.length || now() - this.lastTrimAt < 2000) return false;
    if (ct - b.start(0) > T.keepBehindSeconds + 10) {
      this.lastTrimAt = now();
      try { sb.remove(b.start(0), ct - T.keepBehindSeconds); return true; } catch (e) { return false; }
    }
    return false;
  };

  // Stays at the live edge: jumps when too far behind, plays slightly faster when a little behind.
  Player.prototype.edge = function () {
    var v = this.video, b = v.buffered;
    if (this.hls) return; // the browser's own HLS player keeps its distance to the edge
    if (!b.length) return;
    var start = b.start(b.length - 1), end = b.end(b.length - 1), ct = v.currentTime;
    // A gap in the buffer (where one recorded file ends and the next begins, the shorter of audio and
    // video leaves one; the browser would wait there for ever): hop over it to the next range.
    var inRange = -1, next = -1;
    for (var r = 0; r < b.length; r++) {
      if (inRange < 0 && ct >= b.start(r) - 0.001 && ct <= b.end(r)) inRange = r;
      if (next < 0 && b.start(r) > ct + 0.001) next = r;
    }
    if (next >= 0 && end - ct <= T.maxLagSeconds && (inRange < 0 || (b.end(inRange) - ct < 0.3 && v.readyState < 3))) {
      v.currentTime = b.start(next) + 0.001;
      this.gapSkips++;
      this.log('gap skipped from ' + ct.toFixed(3) + ' to ' + b.start(next).toFixed(3));
      return;
    }
    var first = !this.hasPicture && !this.startedAtEdge && end - ct > T.startLagSeconds;
    // (with fragments still queued for the SourceBuffer, after the last of them: it moves the edge)
    if ((first || end - ct > T.maxLagSeconds) && !this.ops.length) {
      this.startedAtEdge = true;
      v.currentTime = Math.max(start, end - T.jumpToSeconds);
      this.jumps++;
      this.lags = [];
      this.log((first ? 'start at the edge from ' : 'jump from ') + ct.toFixed(2));
    }
    var t = now(), lag = end - v.currentTime;
    this.lags.push([t, lag]);
    while (this.lags.length && this.lags[0][0] < t - 2000) this.lags.shift();
    var min = Infinity;
    for (var i = 0; i < this.lags.length; i++) min = Math.min(min, this.lags[i][1]);
    this.minLag = min;
    if (!v.paused && this.lags.length > 3 && t - this.lags[0][0] > 1500) {
      if (min > T.catchUpAboveSeconds && v.playbackRate === 1) v.playbackRate = T.catchUpRate;
      else if (min < T.catchUpUntilSeconds && v.playbackRate !== 1) v.playbackRate = 1;
    }
    if (v.paused && !this.playBlocked && v.readyState >= 2 && document.visibilityState === 'visible') this.play();
  };

  Player.prototype.lag = function () {
    var v = this.video, r = this.hls && v.seekable.length ? v.seekable : v.buffered;
    return r.length ? Math.max(0, r.end(r.length - 1) - v.currentTime) : undefined;
  };

  // No Media Source Extensions but the browser plays HLS itself (iPhone Safari before 17.1): the
  // board's HLS window of the same fragments (a few seconds further behind live).
  Player.prototype.startHls = function () {
    var self = this, v = this.video;
    this.hls = true;
    this.hlsUrl = 'api/live/' + encodeURIComponent(this.id) + '/hls/index.m3u8';
    this.hlsRetryMs = 1000;
    var load = function () { self.log('hls load'); v.src = self.hlsUrl; self.play(); };
    v.addEventListener('error', function () {
      if (!self.hls) return;
      self.hasPicture = false; self.hlsError = true; self.render();
      setTimeout(load, self.hlsRetryMs);
      self.hlsRetryMs = Math.min(self.hlsRetryMs * 2, 10000);
    });
    v.addEventListener('playing', function () { self.hlsError = false; self.hlsRetryMs = 1000; self.render(); });
    load();
  };

  Player.prototype.render = function () {
    var text = '', detail = '', st = this.status;
    if (this.fatal) text = this.fatal;
    else if (this.hls) text = this.hasPicture ? '' : this.hlsError ? 'reconnecting\u2026' : 'connecting\u2026';
    else if (!conn.connected) { text = conn.everConnected ? 'reconnecting\u2026' : 'connecting\u2026'; detail = conn.error; }
    else if (st && st.state === 'offline') {
      text = 'camera offline' + (st.since ? ' since ' + when(st.since) : '');
      detail = st.message || '';
    } else if (st && st.state === 'waiting') { text = 'waiting for the recorder\u2026'; detail = st.message || ''; }
    else if (this.playBlocked) text = 'tap to play';
    else if (!this.hasPicture) text = 'connecting\u2026';
    else if (this.lastFragmentAt && now() - this.lastFragmentAt > 4000) text = 'no new video for ' + Math.round((now() - this.lastFragmentAt) / 1000) + ' s\u2026';
    var html = text ? esc(text) + (detail && detail !== text ? '<small>' + esc(detail) + '</small>' : '') : '';
    this.overlayText = text; this.overlayDetail = detail && detail !== text ? detail : '';
    if (this.overlay.innerHTML !== html) this.overlay.innerHTML = html;
    this.overlay.hidden = !text;
    this.overlay.classList.toggle('tap', this.playBlocked);
    this.el.dataset.state = this.fatal ? 'error' : this.hls ? (this.hasPicture ? 'live' : 'connecting') : !conn.connected ? 'connecting' : st && st.state !== 'live' ? st.state : this.hasPicture ? 'live' : 'connecting';
    var lag = this.lag();
    var age = this.lastFragmentAt ? (now() - this.lastFragmentAt) / 1000 : 0;
    var lagText = lag === undefined || !this.hasPicture ? '' : this.hls ? lag.toFixed(1) + ' s behind the newest HLS segment'
      : age > 3 ? 'newest video ' + Math.round(age) + ' s ago'
      : lag.toFixed(1) + ' s behind live' + (this.lastFragmentAt ? ' (newest ' + age.toFixed(1) + ' s ago)' : '');
    if (this.lagEl.textContent !== lagText) this.lagEl.textContent = lagText;
    if (lag !== undefined) this.video.dataset.lag = lag.toFixed(3);
    this.renderButton();
  };

  Player.prototype.stats = function () {
    var v = this.video;
    return {
      id: this.id, mode: this.hls ? 'hls' : this.fatal === NO_MSE ? 'none' : 'mse', src: this.hls ? v.currentSrc : undefined, state: this.el.dataset.state, overlay: this.overlayText || '', overlayDetail: this.overlayDetail || '',
      currentTime: v.currentTime, readyState: v.readyState, paused: v.paused, muted: v.muted, playbackRate: v.playbackRate,
      lag: this.lag(), newestFragmentAgeMs: this.lastFragmentAt ? now() - this.lastFragmentAt : undefined,
      videoWidth: v.videoWidth, videoHeight: v.videoHeight, mime: this.mime,
      fragments: this.fragments, bytes: this.bytes, inits: this.inits, initsSkipped: this.initsSkipped, typeChanges: this.typeChanges,
      jumps: this.jumps, gapSkips: this.gapSkips, stalls: this.stalls, minLag: this.minLag, rebuilds: this.rebuilds, quotaTrims: this.quotaTrims, gaps: this.gaps, droppedFragments: this.droppedFragments,
      buffered: v.buffered.length ? [v.buffered.start(0), v.buffered.end(v.buffered.length - 1)] : [],
      ranges: v.buffered.length,
      status: this.status,
      // ms since the navigation started: the stream requested / answered (first connection), first init, first fragment, playing
      events: this.events.slice(),
      timing: { request: conn.firstRequestAt, response: conn.firstResponseAt, init: this.timing.init, fragment: this.timing.fragment, playing: this.timing.playing },
    };
  };

  // 14:03:12 today, the date too before today
  function when(ms) {
    var d = new Date(ms);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
  }

  // Frames [u8 kind][u8 camera][u32 BE length][payload] out of the byte stream.
  function FrameParser(onFrame) { this.chunks = []; this.length = 0; this.head = null; this.onFrame = onFrame; }
  FrameParser.prototype.take = function (n) {
    var first = this.chunks[0];
    var out;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift(); else this.chunks[0] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      var o = 0;
      while (o < n) {
        var c = this.chunks[0], k = Math.min(c.length, n - o);
        out.set(c.subarray(0, k), o); o += k;
        if (k === c.length) this.chunks.shift(); else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  };
  FrameParser.prototype.push = function (chunk) {
    if (chunk.length) { this.chunks.push(chunk); this.length += chunk.length; }
    for (;;) {
      if (!this.head) {
        if (this.length < 6) return;
        var h = this.take(6);
        var len = ((h[2] << 24) >>> 0) + (h[3] << 16) + (h[4] << 8) + h[5];
        if (len > 64 * 1024 * 1024) throw new Error('the stream is garbled (a ' + len + ' byte frame)');
        this.head = { kind: h[0], camera: h[1], length: len };
      }
      if (this.length < this.head.length) return;
      var head = this.head;
      this.head = null;
      this.onFrame(head.kind, head.camera, head.length ? this.take(head.length) : new Uint8Array(0));
    }
  };

  function json(bytes) {
    try { return JSON.parse(decoder.decode(bytes)); } catch (e) { return {}; }
  }

  function onFrame(kind, camera, payload) {
    var p = players[camera];
    if (!p) return;
    if (kind === 1) p.onStatus(json(payload));
    else if (kind === 2) p.onInitHeader(json(payload));
    else if (kind === 3) p.onInit(payload);
    else if (kind === 4) p.onFragment(payload);
    else if (kind === 5) p.onGap(json(payload));
  }

  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };

  async function run() {
    var query = players.map(function (p) { return 'camera=' + encodeURIComponent(p.id); }).join('&');
    for (;;) {
      var ctrl = new AbortController();
      var gotFrames = false;
      var watchdog = 0;
      try {
        conn.connections++;
        if (!conn.firstRequestAt) conn.firstRequestAt = Math.round(now());
        var r = await fetch('api/live/stream?' + query, { cache: 'no-store', credentials: 'same-origin', signal: ctrl.signal });
        if (!r.ok || !r.body) {
          var why = r.status === 401 ? 'not logged in: reload the page' : 'the board answered HTTP ' + r.status;
          var text = (await r.text().catch(function () { return ''; })).trim().split('\n')[0].slice(0, 160);
          throw new Error(text && r.status !== 401 ? why + ': ' + text : why);
        }
        if (!conn.firstResponseAt) conn.firstResponseAt = Math.round(now());
        conn.connected = true; conn.everConnected = true; conn.error = ''; conn.lastByteAt = now();
        players.forEach(function (p) { p.status = null; p.render(); });
        watchdog = setInterval(function () {
          if (now() - conn.lastByteAt > T.silenceSeconds * 1000) ctrl.abort(new Error('nothing from the board for ' + T.silenceSeconds + ' s'));
        }, 1000);
        var reader = r.body.getReader();
        var parser = new FrameParser(function (k, c, pl) { gotFrames = true; onFrame(k, c, pl); });
        for (;;) {
          var chunk = await reader.read();
          if (chunk.done) break;
          conn.lastByteAt = now();
          parser.push(chunk.value);
        }
        conn.error = 'the board ended the stream';
      } catch (e) {
        var reason = ctrl.signal.aborted && ctrl.signal.reason ? ctrl.signal.reason : e;
        conn.error = (reason && reason.message) || String(reason);
        ctrl.abort();
      }
      clearInterval(watchdog);
      conn.connected = false;
      players.forEach(function (p) { p.render(); });
      if (gotFrames) conn.backoffMs = 1000;
      await sleep(conn.backoffMs);
      conn.backoffMs = Math.min(conn.backoffMs * 2, 10000);
    }
  }

  var players = Array.prototype.map.call(document.querySelectorAll('.live-tile'), function (el, i) {
    return new Player(el, CFG.cameras[i], i);
  });
  window.liveView = {
    conn: conn,
    managed: MANAGED,
    stats: function () { return players.map(function (p) { return p.stats(); }); },
  };
  if (!MS || typeof MS.isTypeSupported !== 'function') {
    var hls = document.createElement('video').canPlayType('application/vnd.apple.mpegurl');
    players.forEach(function (p) { if (hls) p.startHls(); else p.fail(NO_MSE); });
    setInterval(function () { players.forEach(function (p) { p.render(); }); }, 500);
    return;
  }
  players.forEach(function (p) { p.render(); });
  setInterval(function () {
    players.forEach(function (p) { p.pump(); p.edge(); p.render(); });
  }, 250);
  document.addEventListener('visibilitychange', function () {
    players.forEach(function (p) { p.edge(); p.render(); });
  });
  if (players.length) run();
})();
`;

function tile(c: LiveCamera, single: boolean): string {
  const id = esc(c.id);
  const href = `live/${encodeURIComponent(c.id)}`;
  const name = single ? '' : `<a href="${esc(href)}">${id}${c.name ? ` <small>${esc(c.name)}</small>` : ''}</a>`;
  return `<figure class="live-tile" data-camera="${id}">
  <div class="live-box">
    <video muted autoplay playsinline disableremoteplayback aria-label="live video of ${id}"></video>
    <div class="live-overlay" role="status" aria-live="polite">connecting…</div>
    <button type="button" class="live-unmute" aria-pressed="false" aria-label="unmute ${id}"><span>tap to unmute</span></button>
  </div>
  <figcaption>${name}<span class="live-lag" title="how far the picture is behind the newest video received; in brackets, how long ago that arrived"></span></figcaption>
</figure>`;
}

/** The HTML of /live/<id> (`single`: the first camera of `cameras`) or /live (every camera of `cameras`). */
export function renderLivePage(opts: LivePageOptions): string {
  const cameras = opts.single ? opts.cameras.slice(0, 1) : opts.cameras;
  const first = cameras[0];
  const title = opts.single && first ? `Live: ${first.id}${first.name ? ` · ${first.name}` : ''}` : 'Live';
  const links =
    opts.single && first
      ? `<p class="live-links"><a href="./">← cameras</a><a href="timeline?camera=${esc(encodeURIComponent(first.id))}">timeline of ${esc(first.id)}</a><a href="live">all cameras live</a></p>`
      : `<p class="live-links"><a href="./">← cameras</a></p>`;
  const config = JSON.stringify({ cameras: cameras.map((c) => c.id), player: LIVE_PLAYER }).replace(/</g, '\\u003c');
  const body = `${links}
<div class="live-grid${opts.single ? ' single' : ''}">
${cameras.map((c) => tile(c, opts.single)).join('\n') || '<p>no cameras configured</p>'}
</div>
<script type="application/json" id="live-config">${config}</script>
<script>${PLAYER}</script>`;
  return page(title, body).replace('</head>', `${BASE_SCRIPT}<style>${STYLE}</style></head>`);
}
