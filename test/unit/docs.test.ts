// The docs cannot rot silently: the config reference is what the schemas generate, every key has a
// description, and every relative link in README.md and docs/ leads to a file and heading that exist.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { configReference, generatedDocs } from '../docs/generate-config.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DOCS = readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md'));
const PAGES = ['README.md', ...DOCS.map((f) => `docs/${f}`)];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to "-", repeats numbered. */
function anchors(markdown: string): Set<string> {
  const counts = new Map<string, number>();
  const found = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
    const n = counts.get(slug) ?? 0;
    found.add(n === 0 ? slug : `${slug}-${n}`);
    counts.set(slug, n + 1);
  }
  return found;
}

describe('docs', () => {
  it('docs/configuration.md and docs/config.schema.json are what the schemas generate (npm run docs)', () => {
    for (const [path, text] of Object.entries(generatedDocs())) {
      const onDisk = readFileSync(join(REPO_ROOT, path), 'utf8');
      assert.ok(onDisk === text, `${path} is stale: run npm run docs and commit it`);
    }
  });

  it('every config key has a description in its schema', () => {
    assert.deepEqual(configReference().undocumented, []);
  });

  it('every relative link in README.md and docs/ leads to an existing file and heading', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      const text = readFileSync(join(REPO_ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, frag] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? page : normalize(join(dirname(page), path));
        if (!existsSync(join(REPO_ROOT, file))) broken.push(`${page}: ${target} (no such file)`);
        else if (frag && file.endsWith('.md') && !anchors(readFileSync(join(REPO_ROOT, file), 'utf8')).has(frag)) {
          broken.push(`${page}: ${target} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });
});
