export * from './parse.js';
export * from './verify.js';
