// The trail core runs outside Node.js: its built JS (dist/src/trail/index.js) is bundled with
// esbuild for the browser, which must not reach any Node.js built-in, and the bundle is run in a
// node:vm context holding only web globals (no Buffer, process, require, setImmediate) to verify
// the committed trail vector, plain and gzip'd, and to catch a tampered copy.
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { createContext, runInContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { type Plugin, build } from 'esbuild';
import type * as Trail from '../../../src/trail/index.js';
import { REPO_ROOT, VECTORS_DIR } from '../../helpers/paths.js';

const ENTRY = join(REPO_ROOT, 'dist', 'src', 'trail', 'index.js');
const NODE_BUILTIN = new RegExp(`^(node:|(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})(/|$))`);

/** Refuses every import of a Node.js built-in, naming the importer (esbuild would only say "could not resolve"). */
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!NODE_BUILTIN.test(args.path)) return undefined;
      const from = relative(REPO_ROOT, args.importer);
      return { errors: [{ text: `the trail core imports the Node.js built-in ${args.path} (in ${from})` }] };
    });
  },
};

async function bundle(): Promise<{ code: string; inputs: string[] }> {
  const out = await build({
    entryPoints: [ENTRY],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'tailsealTrail',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  return { code: out.outputFiles[0]!.text, inputs: Object.keys(out.metafile.inputs) };
}

/** A realm with the web platform's globals only: what a browser page, Deno or Bun offers the trail. */
function webRealm(): Record<string, unknown> {
  return {
    TextEncoder,
    TextDecoder,
    DecompressionStream,
    crypto: globalThis.crypto,
    atob,
    btoa,
    console,
    queueMicrotask,
    setTimeout,
    clearTimeout,
    AbortController,
    AbortSignal,
  };
}

interface Vectors {
  key: { verifierKey: string };
  trail: {
    objects: { name: string; body: string }[];
    expect: { entries: number; objects: number; root_hex: string; chain_head_hex: string };
  };
}
const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'trail.json'), 'utf8')) as Vectors;

/** An ObjectReader over in-memory objects (the trail's "list and read objects" interface). */
function memoryReader(objects: Map<string, Uint8Array>): Trail.ObjectReader {
  return {
    list: async () => [...objects.keys()].sort(),
    read: async (name) => objects.get(name)!,
  };
}

describe('the trail core in a browser', () => {
  it('bundles for platform browser from its own files and @noble/* only, with no Node.js built-in', async () => {
    const { inputs } = await bundle();
    // esbuild names inputs relative to absWorkingDir, with "/".
    const outside = inputs.filter((f) => !f.startsWith('dist/src/trail/') && !f.startsWith('node_modules/@noble/'));
    assert.deepEqual(outside, [], 'bundled files outside dist/src/trail and @noble/*');
    assert.ok(inputs.includes('dist/src/trail/verify-trail.js'), inputs.join(', '));
  });

  it('verifies the vector trail (plain and gzip) in a realm without Buffer, process or require', async () => {
    const { code } = await bundle();
    const realm = createContext(webRealm());
    runInContext(code, realm);
    assert.equal(
      runInContext('typeof Buffer + typeof process + typeof require + typeof setImmediate', realm),
      'undefined'.repeat(4),
    );
    const trail = (realm as { tailsealTrail: typeof Trail }).tailsealTrail;
    const verifiers = [trail.parseVerifierKey(V.key.verifierKey)];
    const enc = new TextEncoder();
    const objects = new Map(V.trail.objects.map((o) => [o.name, enc.encode(o.body)]));
    const gzipped = new Map(V.trail.objects.map((o) => [`${o.name}.gz`, new Uint8Array(gzipSync(enc.encode(o.body)))]));
    for (const store of [objects, gzipped]) {
      const [report] = await trail.verifyTrail(memoryReader(store), { verifiers });
      assert.equal(report!.entries, V.trail.expect.entries);
      assert.equal(report!.objects, V.trail.expect.objects);
      assert.equal(report!.rootHash, V.trail.expect.root_hex);
      assert.equal(trail.toHex(report!.resume.chainHead), V.trail.expect.chain_head_hex);
    }
  });

  it('finds a tampered copy of the vector trail with the right code', async () => {
    const { code } = await bundle();
    const realm = createContext(webRealm());
    runInContext(code, realm);
    const trail = (realm as { tailsealTrail: typeof Trail }).tailsealTrail;
    const verifiers = [trail.parseVerifierKey(V.key.verifierKey)];
    const enc = new TextEncoder();
    const altered = V.trail.objects.map((o, i) => ({
      name: o.name,
      body: i === 1 ? o.body.replace('rapports', 'reports') : o.body,
    }));
    assert.notEqual(altered[1]!.body, V.trail.objects[1]!.body);
    const store = new Map(altered.map((o) => [o.name, new Uint8Array(gzipSync(enc.encode(o.body)))]));
    await assert.rejects(trail.verifyTrail(memoryReader(store), { verifiers }), (err: unknown) => {
      assert.ok(trail.isTailsealError(err, 'ENTRY_ALTERED'), String(err));
      assert.equal(err.details.seq, 3);
      return true;
    });
  });
});
