// `recorder`: operator's command line. Wiring only; the work is in libs/.
// Help is answered without loading the commands (Redis, BullMQ, the MP4 code):
// in the bundle they are a separate chunk, loaded only to run a command.
import { helpFor } from '@tapo/cli/help';

const argv = process.argv.slice(2);
const help = helpFor(argv);
if (help) {
  process.stdout.write(`${help.text}\n`);
  process.exitCode = help.exitCode;
} else {
  const { runCli } = await import('@tapo/cli');
  process.exitCode = await runCli(argv);
}
