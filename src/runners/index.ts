export {
  createDockerClient,
  DEFAULT_DOCKER_SOCKET,
  dockerConfigured,
  dockerVersion,
  imageExists,
} from './docker.js';
