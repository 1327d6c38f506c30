/**
 * The unit project runs as on a machine with no services, even inside `npm test` (where the
 * integration project's global setup has exported their addresses): no MONGODB_URI (the store helper
 * says so), no REDIS_URL (Deckhand coordinates in memory), and a DOCKER_HOST that names why nothing
 * answers, so a unit test that reaches a service fails at once instead of passing here by luck.
 * A test file that does need a service belongs in the integration project: see vitest.config.ts.
 */
delete process.env.MONGODB_URI;
delete process.env.REDIS_URL;
delete process.env.DECKHAND_TEST_STORE_SERVER;
process.env.DOCKER_HOST = 'unix:///nonexistent/unit-tests-have-no-docker--see-vitest.config.ts.sock';
