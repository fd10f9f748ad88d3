// The folders of src/ import one another in one direction only (docs: the layers in eslint.config.js): no
// cycle between folders. Each folder is a node (sources/<kind> and sinks/<kind> are nodes of their own, apart
// from sources/ and sinks/ with their shared files; a file directly in src/ is a node by itself); an import
// from a file of one node to a file of another is an edge. Any cycle fails the test, printed with one import
// line per edge, so the reader sees which import to move.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

const SRC = join(REPO_ROOT, 'src');

/** Every relative import of a module: static, re-export, dynamic, and type-only `import('...')`. */
const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g;

/** The graph node (folder) of a file under src/. */
export function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) return parts[0]!;
  if ((parts[0] === 'sources' || parts[0] === 'sinks') && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0]!;
}

/** Folder -> folder it imports -> one import that makes the edge ("file -> imported file"). */
export function folderGraph(files: readonly { path: string; text: string }[]): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const { path, text } of files) {
    const from = folderOf(path);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const m of text.matchAll(IMPORT)) {
      const target = resolve(dirname(path), `${m[1]!}.ts`);
      const to = folderOf(target);
      if (to === from || graph.get(from)!.has(to)) continue;
      graph.get(from)!.set(to, `${relative(SRC, path)} -> ${relative(SRC, target)}`);
    }
  }
  return graph;
}

/**
 * The strongly connected components of more than one node (Tarjan), each as one cycle through its root, the
 * other folders of the component (if any) after it.
 */
export function cycles(graph: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length <= 1) return;
    const cycle = cycleIn(graph, new Set(scc), v);
    found.push([...cycle, ...scc.filter((f) => !cycle.includes(f)).sort()]);
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return found;
}

/** One cycle through `start` inside the component `scc` (a shortest path back to `start`, breadth first). */
function cycleIn(graph: ReadonlyMap<string, ReadonlyMap<string, string>>, scc: Set<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** A component of cycles() as lines: its cycle with the import that makes each edge, then its other folders. */
function describeCycle(graph: ReadonlyMap<string, ReadonlyMap<string, string>>, found: string[]): string {
  const end = found.indexOf(found[0]!, 1) + 1;
  const cycle = found.slice(0, end);
  const lines = [cycle.join(' -> ')];
  for (let i = 0; i + 1 < cycle.length; i++) lines.push(`  ${graph.get(cycle[i]!)!.get(cycle[i + 1]!)!}`);
  if (end < found.length) lines.push(`  (in the same cycle also: ${found.slice(end).join(', ')})`);
  return lines.join('\n');
}

function sourceFiles(): { path: string; text: string }[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ path: join(SRC, f), text: readFileSync(join(SRC, f), 'utf8') }));
}

describe('architecture: the folder import graph of src/', () => {
  it('has no cycle between folders', () => {
    const graph = folderGraph(sourceFiles());
    const found = cycles(graph);
    assert.deepEqual(
      found.map((c) => describeCycle(graph, c)),
      [],
      'folder import cycles in src/',
    );
  });

  it('the trail core imports no other folder of src/ (its only dependencies are @noble/*)', () => {
    const trail = folderGraph(sourceFiles()).get('trail');
    assert.ok(trail, 'src/trail/ exists');
    assert.deepEqual([...trail.values()], [], 'imports from src/trail/ to the rest of tailseal');
  });

  it('the report model imports only the trail core (the browser verifier page bundles it)', () => {
    const report = folderGraph(sourceFiles()).get('report');
    assert.ok(report, 'src/report/ exists');
    assert.deepEqual([...report.keys()], ['trail'], [...report.values()].join('\n'));
  });

  it('the verifier page imports only the trail core (and the pure report model), so it bundles for a browser', () => {
    const page = folderGraph(sourceFiles()).get('page');
    assert.ok(page, 'src/page/ exists');
    assert.deepEqual(
      [...page].filter(([to]) => to !== 'trail' && to !== 'report').map(([, edge]) => edge),
      [],
      'imports from src/page/ to other folders',
    );
    assert.ok(page.has('trail'), 'the page is built on the trail core');
  });

  it('finds a cycle, through every kind of import, and names the imports that make it', () => {
    const f = (p: string, text: string) => ({ path: join(SRC, p), text });
    const graph = folderGraph([
      f('config/schema.ts', "import { fileInputSchema } from '../sources/file/config.js';"),
      f('sources/file/config.ts', "export type X = import('../../common/units.js').Y;"),
      f('common/units.ts', "const t = () => import('../config/load.js');"),
      f('sinks/s3/sink.ts', "export { a } from '../sink.js';"),
      f('sinks/sink.ts', "import type { B } from './s3/client.js';"),
      f('errors.ts', ''),
      f('log.ts', "import { e } from './errors.js';"),
    ]);
    assert.equal(folderOf(join(SRC, 'sources/source.ts')), 'sources');
    assert.equal(folderOf(join(SRC, 'sources/file/tail.ts')), 'sources/file');
    assert.equal(folderOf(join(SRC, 'daemon.ts')), 'daemon.ts');
    const found = cycles(graph);
    assert.deepEqual(
      found.map((c) => [...c].sort()),
      [
        ['common', 'common', 'config', 'sources/file'],
        ['sinks', 'sinks', 'sinks/s3'],
      ],
    );
    const text = describeCycle(graph, found[0]!);
    assert.match(text, /common\/units\.ts -> config\/load\.ts/);
    assert.match(text, /sources\/file\/config\.ts -> common\/units\.ts/);
  });
});
