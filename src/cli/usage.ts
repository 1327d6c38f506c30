/**
 * What `deckhand --help` and `deckhand <command> --help` print. Kept apart from the commands and
 * importing nothing, so help answers without loading any command (or core, the store, Docker...).
 * sandbox.ts and discord.ts take SANDBOX_USAGE (SANDBOX_HELP) and DISCORD_USAGE from here for their errors.
 */

export const USAGE = `usage: deckhand <command>

commands:
  start [--role web|worker|all]
                    serve Slack, GitHub and Discord on PORT (default 3000) and run the worker;
                    web only serves (scale it freely), worker only runs tasks (default all)
  chat              talk to Deckhand in this terminal (embedded defaults)
  doctor [--json]   check store, Redis, Docker, Slack, Discord, GitHub and models
  schedules [--json] digest schedules with their next run time, and the periodic jobs
  audit [--since 24h|7d|ISO] [--actor A] [--action A] [--workspace P:ID] [--limit N] [--json]
                    who did what, in which workspace, and how it ended (newest first)
  sandbox run|build run code in a Docker sandbox (prints one JSON result) / build its image
  discord register-commands [--guild ID]
                    register /deckhand and "Ask Deckhand" with Discord (--guild: one server, at once)
  help              this text

\`deckhand <command> --help\` says more about one command.
`;

export const SANDBOX_USAGE = `usage:
  deckhand sandbox run --lang python|node|bash (--code CODE | --file PATH|-) [--timeout SECONDS] [--network]
  deckhand sandbox build [--force]
`;

/** `deckhand sandbox --help`, and what `deckhand sandbox` without a subcommand prints. */
export const SANDBOX_HELP = `${SANDBOX_USAGE}
run    runs code in a sandbox with the configured limits and prints one JSON object on stdout: read-only
       root, no network unless --network, a non-root user, tmpfs /work and /tmp.
build  builds the sandbox image (scripts/sandbox-image.sh: Debian bookworm with git, make, node + npm,
       python3 + pip + pytest + venv, go), showing its progress on stderr, and ends with
       \`sandbox image deckhand-sandbox:<recipe> ready in N s\`. About 4 minutes from a cold cache, ~30 s
       after a recipe change or \`docker image rm\`, ~0.1 s when the image exists. --force rebuilds it all.
`;

export const DISCORD_USAGE = `usage:
  deckhand discord register-commands [--guild GUILD_ID]
`;

/** What `deckhand <command> --help` prints: the command's usage, before anything is loaded or started. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  start: `usage: deckhand start [--role web|worker|all]

Serves Slack (/slack/events), GitHub (/github/webhooks), Discord (/discord/interactions), /healthz,
/readyz, /metrics and /admin on PORT (default 3000), and runs the worker. --role web only serves
(scale it freely), --role worker only runs tasks; default all (DECKHAND_ROLE sets it too).
`,
  chat: `usage: deckhand chat

Talks to Deckhand in this terminal on embedded defaults. On a fresh machine it first brings up what
is missing, one progress line per step on stderr: the store (a local FerretDB when MONGODB_URI is
unset), a Docker engine (started by scripts/services.sh; needs root or sudo without a password) and
the sandbox image (built when missing), so \`run python\` works. When the sandbox cannot come up, one
line says code execution is off and how to turn it on; chat goes on without it.
Type \`help\` for the commands, Ctrl-D to leave.
`,
  doctor: `usage: deckhand doctor [--json]

Checks the store, Redis, Docker, Slack, Discord, GitHub and the models, and says how to fix what is
missing. Exits 1 when something configured is broken.
`,
  schedules: `usage: deckhand schedules [--json]

Lists digest schedules with their next run time, and the scheduler's periodic jobs.
`,
  audit: `usage: deckhand audit [--since 24h|7d|ISO] [--actor ACTOR] [--action ACTION]
                     [--workspace PLATFORM:ID] [--limit N] [--json]

Reads the audit trail, newest first: time, actor, workspace, action, target and outcome.
  --since      only entries from then on: 30m, 24h, 7d, or an ISO date/time (2026-12-01T09:00:00Z)
  --actor      exactly this actor, e.g. slack:U123 or admin
  --action     exactly this action, or every action under a prefix ending in . or * (code. / code.*)
  --workspace  one workspace: slack:T123, discord:456, github:12345
  --limit      at most N entries (default 100, at most 1000)
  --json       one JSON object per line instead of the table
`,
  sandbox: SANDBOX_HELP,
  discord: DISCORD_USAGE,
};
