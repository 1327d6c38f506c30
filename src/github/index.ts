export * from './access.js';
export * from './activity.js';
export * from './adapter.js';
export {
  type ChangeContext,
  type ChangeDeps,
  type ChangeResult,
  type CodeRunner as GitHubCodeRunner,
  makeChange,
} from './change.js';
export * from './checklist.js';
export * from './context.js';
export {
  DEPENDENCY_FOLDERS,
  detectSetup,
  GO_MODULE_CACHE_DIR,
  SETUP_TOOL_MISSING_EXIT,
  type SetupCommand,
  VENV_DIR,
} from './dependencies.js';
export * from './detect-tests.js';
export * from './link.js';
export * from './parse.js';
export * from './permission.js';
export * from './ports.js';
export * from './pulls.js';
export * from './reason.js';
export * from './redelivery.js';
export { parseRepoSettings, type RepoSettings, readRepoSettings, SETTINGS_FILES } from './repo-settings.js';
export * from './request.js';
export { commentableLines, type ReviewResult } from './review.js';
export * from './sink.js';
export * from './tool-port.js';
export * from './verify.js';
export * from './work.js';
