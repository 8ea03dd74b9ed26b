// `recorder`: operator's command line. Wiring only; the work is in libs/.
import { runCli } from '@tapo/cli';

process.exitCode = await runCli(process.argv.slice(2));
