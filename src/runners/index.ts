export {
  type CacheLease,
  type CacheSweep,
  type CacheVolumeInfo,
  DependencyCache,
  type DependencyCacheOptions,
  dependencyCacheEnv,
  dependencyCacheKey,
  dependencyCacheVolume,
  LABEL_DEPCACHE,
  LABEL_DEPCACHE_CREATED,
  LABEL_DEPCACHE_SCOPE,
  setupRunEgress,
} from './dependency-cache.js';
export {
  createDockerClient,
  DEFAULT_DOCKER_SOCKET,
  dockerConfigured,
  dockerVersion,
  imageExists,
} from './docker.js';
export {
  assertEgressTarget,
  DEFAULT_EGRESS_ALLOW,
  EGRESS_POOL,
  EGRESS_PROXY_ALIAS,
  type EgressAttachment,
  type EgressOptions,
  EgressProxy,
  egressOptionsSchema,
  egressShapeOf,
  LABEL_EGRESS,
  reapEgressNetworks,
} from './egress.js';
export {
  type AllowEntry,
  EGRESS_PROXY_PORT,
  filterRules,
  parseAllowEntry,
  proxyEnv,
  tinyproxyConfig,
} from './egress-config.js';
export { BUILD_HINT, dockerUnreachable, pinImage } from './image.js';
export { argvFor, BUILTIN_LANGUAGES, type LanguageSpec, LanguageTable, shellQuote } from './languages.js';
export {
  type ContainerShape,
  DEFAULT_WORKSPACE_MB,
  DEPENDENCY_CACHE_DIR,
  type EgressShape,
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
export {
  createDependencyInstaller,
  type DependencyInstaller,
  type DependencyInstallerOptions,
  type DependencyInstallJob,
} from './setup-run.js';
export { entryPath, extractWorkTree, resolveInTree } from './workspace-archive.js';
