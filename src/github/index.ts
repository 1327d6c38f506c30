export * from './parse.js';
export * from './sink.js';
export * from './verify.js';
