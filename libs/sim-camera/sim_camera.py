#!/usr/bin/python3
"""Simulated TP-Link Tapo C200: an RTSP server (gst-rtsp-server) with /stream1 and /stream2.

Each mount: H.264 (SPS/PPS in-band before every IDR) as pay0 + G.711 A-law 8 kHz mono
(payload 8, PCMA/8000) as pay1. Factories are shared: one encoder per mount, any number
of clients. Prints `READY rtsp://<host>:<port>` once listening. Run with Debian's python.
"""
import argparse
import re
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

REALM = "TP-LINK Streaming Media"
ROLE = "user"
REQUIRED = ["videotestsrc", "videoconvert", "x264enc", "rtph264pay",
            "audiotestsrc", "alawenc", "rtppcmapay"]
LATE_NS = Gst.SECOND
OVERLAY = "timeoverlay"  # optional (gstreamer1.0-x); skipped when missing


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8554)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--keyint-seconds", type=float, default=2)
    p.add_argument("--bitrate-kbps", type=int, default=1500)
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--null-sprop", action="store_true",
                   help="omit sprop-parameter-sets from the SDP, like some Tapo firmware")
    p.add_argument("--check", action="store_true",
                   help="only check that the needed GStreamer elements exist, then exit")
    a = p.parse_args(argv)
    if bool(a.user) != bool(a.password):
        p.error("--user and --password must be given together")
    return a


def missing_elements():
    return [e for e in REQUIRED if Gst.ElementFactory.find(e) is None]


def launch_line(a, width, height, kbps, label):
    keyint = max(1, round(a.fps * a.keyint_seconds))
    overlay = ""
    if Gst.ElementFactory.find(OVERLAY) is not None:
        overlay = f'{OVERLAY} text="{label}" halignment=left valignment=top font-desc="Sans 16" ! '
    video = (
        f"videotestsrc name=vsrc is-live=true pattern=smpte horizontal-speed=2 ! "
        f"video/x-raw,format=I420,width={width},height={height},framerate={a.fps}/1 ! "
        f"{overlay}videoconvert ! "
        f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} "
        # threads=1 -> one slice per frame; with sliced threads rtph264pay
        # (config-interval=-1) splits each IDR into two access units.
        f"key-int-max={keyint} bframes=0 threads=1 ! "
        f"video/x-h264,stream-format=byte-stream ! "
        f"rtph264pay name=pay0 pt=96 config-interval=-1"
    )
    audio = (
        " audiotestsrc name=asrc is-live=true wave=ticks volume=0.3 samplesperbuffer=320 ! "
        "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8"
    )
    return f"( {video}{'' if a.no_audio else audio} )"


def strip_sprop(pad, info):
    """Pad probe on pay0's src: re-send CAPS events without sprop-parameter-sets."""
    event = info.get_event()
    if event.type != Gst.EventType.CAPS:
        return Gst.PadProbeReturn.OK
    caps = event.parse_caps()
    if not caps.get_structure(0).has_field("sprop-parameter-sets"):
        return Gst.PadProbeReturn.OK
    text = re.sub(r',\s*sprop-parameter-sets=\(string\)(?:"[^"]*"|[^,;]*)', "", caps.to_string())
    pad.push_event(Gst.Event.new_caps(Gst.Caps.from_string(text)))
    return Gst.PadProbeReturn.DROP


def drop_late(pad, info):
    """Pad probe on the test sources: drop raw buffers more than LATE_NS behind the clock.

    After SIGSTOP/SIGCONT the live sources would otherwise render the whole frozen
    period as a burst; dropping gives a timestamp gap, like a camera that lost its link.
    """
    src = pad.get_parent_element()
    clock = src.get_clock()
    pts = info.get_buffer().pts
    if clock is None or pts == Gst.CLOCK_TIME_NONE:
        return Gst.PadProbeReturn.OK
    late = clock.get_time() - src.get_base_time() - pts
    return Gst.PadProbeReturn.DROP if late > LATE_NS else Gst.PadProbeReturn.OK


def on_media_configure(_factory, media, null_sprop):
    bin_ = media.get_element()
    for name in ("vsrc", "asrc"):
        src = bin_.get_by_name(name)
        if src is not None:
            src.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, drop_late)
    if null_sprop:
        pay0 = bin_.get_by_name("pay0")
        pay0.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, strip_sprop)


def make_factory(a, launch, with_auth):
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(launch)
    f.set_shared(True)  # one pipeline/encoder per mount, shared by all clients
    # ffmpeg sends "Range: npt=0.000-" on PLAY; on a seekable shared media that seeks
    # the live pipeline back to 0 and rewinds the timestamps of every other client.
    # This publish mode makes gst-rtsp-server treat the media as not seekable.
    f.set_publish_clock_mode(GstRtspServer.RTSPPublishClockMode.CLOCK_AND_OFFSET)
    if with_auth:
        f.add_role_from_structure(Gst.Structure.new_from_string(
            f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
    f.connect("media-configure", on_media_configure, a.null_sprop)
    return f


def main(argv):
    a = parse_args(argv)
    Gst.init(None)
    missing = missing_elements()
    if a.check or missing:
        if missing:
            print(f"missing GStreamer elements: {', '.join(missing)}", file=sys.stderr)
            return 2
        print("OK")
        return 0

    server = GstRtspServer.RTSPServer()
    server.set_address(a.host)
    server.set_service(str(a.port))

    with_auth = bool(a.user)
    if with_auth:
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.set_realm(REALM)
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", ROLE)
        auth.add_digest(a.user, a.password, token)
        server.set_auth(auth)  # no default token: anonymous requests get 401

    mounts = server.get_mount_points()
    mounts.add_factory("/stream1", make_factory(
        a, launch_line(a, a.width, a.height, a.bitrate_kbps, "stream1"), with_auth))
    mounts.add_factory("/stream2", make_factory(
        a, launch_line(a, 640, 360, 400, "stream2"), with_auth))

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"cannot listen on {a.host}:{a.port}", file=sys.stderr)
        return 1

    # Expire sessions of clients that vanished without TEARDOWN (default timeout 60 s).
    GLib.timeout_add_seconds(5, lambda: server.get_session_pool().cleanup() >= 0)

    def quit_loop():
        loop.quit()
        return GLib.SOURCE_REMOVE

    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, quit_loop)

    host = "127.0.0.1" if a.host in ("0.0.0.0", "::", "") else a.host
    print(f"READY rtsp://{host}:{server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
