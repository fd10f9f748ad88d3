// Builds the verifier page (`npm run build` runs this after tsc): src/page/app/ bundled by esbuild
// for the browser, inlined into src/page/template.html under a Content Security Policy that allows
// exactly that script and that style and nothing else (no request of any kind). Reproducible: the
// same sources give the same bytes (no time, no absolute path), so an auditor can compare the
// page's SHA-256 with the one published for the release. Build tooling only: esbuild is a
// devDependency, and the CLI reads the built page from dist/ (src/page/file.ts).
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Plugin, build } from 'esbuild';
import { VERIFIER_PAGE_URL } from './file.js';

/** The repository root: this module is dist/src/page/build.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = 'src/page/app/main.ts';
const TEMPLATE = 'src/page/template.html';

const NODE_BUILTIN = new RegExp(`^(node:|(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})(/|$))`);

/** Refuses every import of a Node.js built-in, naming the importer: the page runs in a browser only. */
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      NODE_BUILTIN.test(args.path)
        ? { errors: [{ text: `the verifier page imports the Node.js built-in ${args.path} (in ${args.importer})` }] }
        : undefined,
    );
  },
};

const cspHash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** `template` with its one `marker` replaced by `value` (a function replacer: no `$&` patterns). */
function fill(template: string, marker: string, value: string): string {
  const parts = template.split(marker);
  if (parts.length !== 2) throw new Error(`${TEMPLATE}: ${JSON.stringify(marker)} must occur exactly once`);
  return parts.join(value);
}

/** The page's HTML, and the files bundled into it (relative to the repository root, with "/"). */
export async function buildPage(): Promise<{ html: string; inputs: string[] }> {
  const out = await build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    minify: true,
    sourcemap: false,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  const script = out.outputFiles[0]!.text.trimEnd();
  // The HTML parser would end the script at "</script" (esbuild escapes it in strings; this is the check).
  if (/<\/script|<!--/i.test(script)) throw new Error('the bundled script contains </script or <!--');
  const template = readFileSync(`${ROOT}${TEMPLATE}`, 'utf8');
  const style = /<style>([\s\S]*?)<\/style>/.exec(template)![1]!;
  const version = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
  // Saving the report (src/page/app/render.ts) needs no source here: it is a download of a blob: URL
  // made from the page's own memory, a navigation that no fetch directive of default-src governs (the
  // headless Chromium test checks it works and that no request leaves the page).
  const csp =
    `default-src 'none'; script-src ${cspHash(script)}; style-src ${cspHash(style)}; ` +
    "base-uri 'none'; form-action 'none'";
  let html = fill(template, '{{CSP}}', csp);
  html = fill(html, '{{VERSION}}', version);
  html = fill(html, '<script></script>', `<script>${script}</script>`);
  return { html, inputs: Object.keys(out.metafile.inputs).sort() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { html } = await buildPage();
  writeFileSync(VERIFIER_PAGE_URL, html);
}
