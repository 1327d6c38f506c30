export * from './config.js';
export * from './errors.js';
export * from './group-commit.js';
export * from './limits.js';
export * from './logger.js';
export * from './model-settings.js';
export * from './redact.js';
