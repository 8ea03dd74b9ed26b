export { redactUrl, redactText, redactDeep, registerSecrets, registerUrlSecrets } from './redact.js';
export { createLogger, type CreateLoggerOptions, type Logger } from './logger.js';
