/**
 * One tool loop: every model call that offers tools goes through the orchestrator's loop
 * (runModelLoop in src/agents/turn.ts, the inside of src/agents/orchestrator.ts), so policy, cost
 * meter, message records and audit apply to all of them. Elsewhere a model call may only be a single
 * completion without tools (a summary). Checked on the syntax tree of every file under src/; the second
 * test shows the check catches a loop written somewhere else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** The loop itself. */
const LOOP_FILE = 'src/agents/turn.ts';
/** The providers and the chain implement `stream`; they are what is called, not callers. */
const PROVIDERS = 'src/agents/providers/';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Whether a request object literal offers tools: a `tools` property that is not `[]`. */
function offersTools(request: ts.Expression | undefined): boolean {
  if (!request || !ts.isObjectLiteralExpression(request)) return true; // unknown: assume it does
  return request.properties.some((p) => {
    if (ts.isSpreadAssignment(p)) return true;
    if (p.name?.getText() !== 'tools') return false;
    if (ts.isShorthandPropertyAssignment(p)) return true;
    return !(
      ts.isPropertyAssignment(p) &&
      ts.isArrayLiteralExpression(p.initializer) &&
      p.initializer.elements.length === 0
    );
  });
}

/** `file:line` of each model call (`<x>.stream(modelIds, request, ...)`) that offers tools outside the loop. */
function modelCallsOutsideTheLoop(path: string, text: string): string[] {
  if (path === LOOP_FILE || path.startsWith(PROVIDERS)) return [];
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'stream' &&
      node.arguments.length >= 2 &&
      offersTools(node.arguments[1])
    ) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${path}:${line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('one tool loop', () => {
  it('has no model call offering tools outside the orchestrator loop', () => {
    const found = sourceFiles(join(ROOT, 'src')).flatMap((file) =>
      modelCallsOutsideTheLoop(relative(ROOT, file), readFileSync(file, 'utf8')),
    );
    expect(found).toEqual([]);
  });

  it('catches a second loop written elsewhere, and allows a single summary call without tools', () => {
    const loop = `
      export async function fix(chain, messages, tools, signal) {
        for (let step = 0; step < 10; step++) {
          for await (const event of chain.stream(['m'], { system: '', messages, tools }, signal)) {}
        }
      }`;
    expect(modelCallsOutsideTheLoop('src/github/agent.ts', loop)).toEqual(['src/github/agent.ts:4']);
    const summary = `const s = chain.stream(['m'], { system: '', messages: [], tools: [] }, signal);`;
    expect(modelCallsOutsideTheLoop('src/agents/summarize.ts', summary)).toEqual([]);
    const spread = `const s = chain.stream(['m'], { ...request }, signal);`;
    expect(modelCallsOutsideTheLoop('src/agents/other.ts', spread)).toEqual(['src/agents/other.ts:1']);
  });
});
