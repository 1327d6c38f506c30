export * from './discord/parse.js';
export * from './discord/verify.js';
export * from './events.js';
export * from './http.js';
export * from './slack/parse.js';
export * from './slack/verify.js';
