export * from './config.js';
export * from './errors.js';
export * from './logger.js';
export * from './redact.js';
export * from './limits.js';
