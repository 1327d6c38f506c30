/**
 * The platforms' public API bases, the defaults every client of theirs starts from (tests and
 * Enterprise installs override them through settings). Kept here so that code posting to a
 * platform outside its adapter (digests) does not reach into the adapter for a constant.
 */
export const SLACK_API_URL = 'https://slack.com/api';
export const DISCORD_API_URL = 'https://discord.com/api/v10';
