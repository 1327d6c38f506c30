export {
  createDockerClient,
  DEFAULT_DOCKER_SOCKET,
  dockerConfigured,
  dockerVersion,
  imageExists,
} from './docker.js';
export { BUILD_HINT, dockerUnreachable, pinImage } from './image.js';
export { argvFor, BUILTIN_LANGUAGES, type LanguageSpec, LanguageTable, shellQuote } from './languages.js';
export {
  type ContainerShape,
  DEFAULT_WORKSPACE_MB,
  hostConfigFor,
  limitsFromConfig,
  SANDBOX_ENV,
  SANDBOX_UID,
  type SandboxLimits,
  type SandboxNetwork,
  WORK_DIR,
  WORKSPACE_MAX_ENTRIES,
  workspaceMbOf,
} from './limits.js';
export { RunOutput, truncationNote } from './output.js';
export { checkFilePath, PROGRAM_DIR, type SandboxFiles } from './payload.js';
export {
  LABEL_DEADLINE,
  LABEL_MANAGED,
  LABEL_OWNER,
  LABEL_POOL,
  ownerId,
  reapOrphans,
  reapReason,
  sandboxLabels,
} from './reaper.js';
export {
  type CodeRunner,
  createSandboxRunner,
  type RunResult,
  type SandboxRunner,
  type SandboxRunnerOptions,
  type SandboxRunOptions,
  type SandboxRunStore,
  sandboxRunnerFromConfig,
} from './sandbox.js';
export { entryPath, extractWorkTree, resolveInTree } from './workspace-archive.js';
