/**
 * The import rules of src/ (checked by test/architecture.test.ts): no cycle between top-level
 * folders, and another top-level folder is entered only through its door, index.ts.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle-between-folders',
      comment: 'A cycle that leaves its top-level folder: the folders would depend on each other.',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { circular: true, viaSomeNot: '^src/$1/' },
    },
    {
      name: 'through-the-door',
      comment: 'Another top-level folder is imported only through its index.ts.',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    ...['slack', 'discord', 'terminal'].map((adapter) => ({
      name: `${adapter}-adapter-door`,
      comment: `The ${adapter} adapter is imported only through src/bots/${adapter}/index.ts.`,
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/bots/${adapter}/` },
      to: { path: `^src/bots/${adapter}/`, pathNot: `^src/bots/${adapter}/index\\.ts$` },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
