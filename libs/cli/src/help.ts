// The CLI's help texts, apart from the commands so that `recorder --help`
// loads nothing else (no Redis client, no BullMQ: it answers in ~0.1 s).
export const HELP: Record<string, string> = {
  main: `recorder: tapo-recorder's command line

Usage: recorder <command> [options]   (every command: --config FILE, --help)

Commands:
  status                      cameras and their recording state
  cameras                     the configured cameras (no URLs) and their index totals
  segments <camera> [--from <time>] [--to <time>]
                              indexed segments of a camera (default: the last 24 h)
  export <camera> --from <time> --to <time> --out <file>
                              join the segments of a time range into one MP4 (an export job, with progress)
  prune [--dry-run]           apply the retention limits now (--dry-run: only list what would go)
  repair <file> [--reference <good file>] [--out <file>] [--full-decode]
                              verify and repair a segment now
  repair --queue <file>       enqueue a verify/repair job instead (seen in Bull Board)
  verify <file> [--no-decode] what kind of MP4 it is, what is wrong, how many frames play
  rescan [--camera <id>]      rebuild the segment index from the files on disk
  keygen                      print a new encryption key for replicas (keep a copy off this box)
  replicas [--camera <id>] [--json]
                              what each replica target holds: copies per camera, bytes, oldest / newest
  restore --from <replica> --camera <id> --from-time <time> --to-time <time> --out <dir> [--export <file>]
                              download, decrypt and verify the copies of a range from a replica target

repair and verify work on any file in any folder, without a cameras file.
Environment: REDIS_URL, RECORDER_QUEUE_PREFIX, RECORDER_CONFIG (see README).`,
  status: `recorder status [--config FILE]\n\nOne line per camera: state, worker host, fps, last segment, last error.`,
  cameras: `recorder cameras [--config FILE]\n\nOne line per configured camera: id, enabled, segment length, audio, retention, segments and bytes in the index.`,
  segments: `recorder segments <camera> [--from <time>] [--to <time>] [--config FILE]\n\nTimes: ISO 8601 (2026-11-27T03:00:00Z) or relative (-2h, -30m). Default: the last 24 hours.`,
  export: `recorder export <camera> --from <time> --to <time> --out <file> [--config FILE]\n\nEnqueues an export job (a worker joins the camera's segments in the range with\nffmpeg's concat demuxer, whole segments, no re-encoding), shows its progress,\nand copies the result to --out. Times: ISO 8601 or relative (-2h).`,
  prune: `recorder prune [--dry-run] [--config FILE]\n\nDeletes the oldest segments until every camera's maxAge / maxSize and the\nminFreeDisk floor hold. --dry-run prints what would be deleted and deletes nothing.`,
  repair: `recorder repair <file> [--reference <good file>] [--out <file>] [--full-decode] [--config FILE]
recorder repair --queue <file> [--reference <good file>]

Classifies the file and runs the repair chain now: a cut fragmented MP4 is
trimmed to its last complete samples, an MP4 with its moov at the end gets it
moved to the front, an MP4 without moov (killed mid-write) is rebuilt from a
reference segment of the same camera (default: the nearest good one in the
index). Without --out the original is replaced, only once the repaired file
verifies: every video sample's structure is checked and the first and last GOP
are decoded (--full-decode, or repair.fullDecode in the config: decode every
frame, ~10x slower). --queue enqueues a job instead (the file must be inside
recordingsDir).
Works without a cameras file (then a file without moov needs --reference).`,
  verify: `recorder verify <file> [--no-decode]

Says what the file is (clean MP4, fragmented, cut fragmented, moov at the end,
no moov, garbage), what is wrong with it, what \`recorder repair\` would do, and
how many video frames play as it is (ffmpeg decodes the file; --no-decode skips
that). Exit code 0 when it plays as it is, 1 when not. No cameras file needed.`,
  rescan: `recorder rescan [--camera <id>] [--config FILE]\n\nRebuilds the segment index from the files on disk (after Redis lost it);\nbroken files get verify jobs.`,
  keygen: `recorder keygen

Prints a new key for client-side encryption of replica copies (directory and
s3 targets) on stdout, and on stderr how to use it: REPLICA_KEY=<key> in the
env file, \`encryption: { key: "\${REPLICA_KEY}" }\` on the replica entry.
Keep a copy off this box (a password manager, or printed): losing the key
loses the footage. Reads no config and needs no Redis.`,
  replicas: `recorder replicas [--camera <id>] [--json] [--config FILE]

For each target under replicas: its id, type and where it is (no credentials),
whether it encrypts, and per camera: whole copies, unfinished copies (live
chunks of a segment still being recorded when it was sent), stored bytes, and
the start of the oldest and newest segment (UTC). Only copies named by
tapo-recorder below the target's prefix / folder count. http targets are other
installations: their listing is on the receiving board. --json: the same as
JSON. Exit code 1 when a target cannot be listed.`,
  restore: `recorder restore --from <replica> --camera <id> --from-time <time> --to-time <time> --out <dir>
                 [--export <file>] [--full-decode] [--config FILE]

Downloads every copy of the camera on a directory or s3 replica target that
overlaps the range (whole segments; a segment that was still being recorded is
joined from its live chunks up to the first gap), decrypts it with the target's
encryption.key (a tampered object or another key fails that segment), and
writes it to <dir>/<camera>/<day>/<file> (temp file, then into place; an
identical file already there is skipped, a different one is never
overwritten). Each file is verified as recorder verify / repair would: a copy
cut inside its last fragment is trimmed; --full-decode decodes every frame.
One line per segment (restored / skipped / failed and why), then a summary.
--export <file>: also join the restored range into one MP4 (as recorder
export does; the file must not exist yet). Times: ISO 8601 or relative (-2h).
Exit code 1 when any segment failed or no copy overlaps the range. An http
replica is another installation: restore from its board or run recorder
export there.`,
};

/** The help text an argument list asks for, or undefined when it asks for a command to run. */
export function helpFor(argv: readonly string[]): { text: string; exitCode: number } | undefined {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return { text: HELP.main!, exitCode: cmd ? 0 : 2 };
  if (cmd !== 'main' && cmd in HELP && (rest.includes('--help') || rest.includes('-h'))) return { text: HELP[cmd]!, exitCode: 0 };
  return undefined;
}
