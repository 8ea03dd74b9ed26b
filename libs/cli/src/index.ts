export { runCli, parseTime } from './cli.js';
