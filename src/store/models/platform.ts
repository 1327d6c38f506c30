export const PLATFORMS = ['slack', 'discord', 'github', 'terminal'] as const;
export type Platform = (typeof PLATFORMS)[number];
