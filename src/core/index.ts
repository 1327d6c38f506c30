export * from './config.js';
export * from './errors.js';
export * from './limits.js';
export * from './logger.js';
export * from './redact.js';
