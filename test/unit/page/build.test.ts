// The verifier page's build (src/page/build.ts): reproducible (two builds, the same bytes, no path of
// this machine), bundled from the page's own files, the trail core and @noble/* only (no Node.js
// built-in: the build refuses one), and its CSP allows exactly the inline script and style it holds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildPage } from '../../../src/page/build.js';
import { VERIFIER_PAGE_URL } from '../../../src/page/file.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const hashOf = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('the verifier page build', () => {
  it('is reproducible: two builds give the same bytes, which npm run build wrote to dist/', async () => {
    const a = await buildPage();
    const b = await buildPage();
    assert.equal(a.html, b.html);
    assert.equal(readFileSync(VERIFIER_PAGE_URL, 'utf8'), a.html, 'dist/ holds the page of these sources');
    assert.ok(!a.html.includes(REPO_ROOT), 'no absolute path of the build machine');
    assert.ok(!/\d{4}-\d\d-\d\dT\d\d:\d\d/.test(a.html), 'no build time');
  });

  it('bundles only src/page/app/, src/trail/, src/report/ and @noble/*, and no Node.js module or global', async () => {
    const { html, inputs } = await buildPage();
    // A worktree's node_modules may be a symlink: @noble/* then resolves outside the repository.
    const outside = inputs.filter(
      (f) => !/^src\/(page\/app|trail|report)\//.test(f) && !/(^|\/)node_modules\/@noble\//.test(f),
    );
    assert.deepEqual(outside, [], 'bundled files outside the page, the trail core, the report model and @noble/*');
    assert.ok(inputs.includes('src/report/model.ts'), 'the report the page shows is the CLI report model');
    assert.ok(inputs.includes('src/trail/verify-trail.ts'), inputs.join(', '));
    assert.ok(inputs.includes('src/trail/bundle.ts'), inputs.join(', '));
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    assert.doesNotMatch(script, /\brequire\(|\bprocess\.|\bBuffer\b|["']node:/);
  });

  it('has a CSP that allows nothing but its own inline script and style, by hash', async () => {
    const { html } = await buildPage();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    assert.equal(
      csp,
      `default-src 'none'; script-src ${hashOf(script)}; style-src ${hashOf(style)}; base-uri 'none'; ` +
        "form-action 'none'",
    );
    assert.equal(html.match(/<script/g)!.length, 1, 'one script');
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style>'), 'the CSP comes first');
  });
});
