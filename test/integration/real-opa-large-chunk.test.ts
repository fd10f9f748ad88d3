// Issue 16 item 18 with a real OPA 1.8.0: OPA grows the uncompressed size of a chunk until it
// fills upload_size_limit_bytes gzip'd, so with a 1 MiB limit and compressible decisions one
// chunk decodes to far more than the default max_decoded_bytes (64 MiB). Refused (413), OPA
// re-sent it forever and every later upload stalled behind it. Now the combination is refused
// at start, and limits sized by the rule in docs/operations.md take every chunk: nothing stalls.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  freePort,
  logsWith,
  makeWorkspace,
  receiversListening,
  startDaemon,
  stopDaemon,
  storeEntries,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { NO_OPA, OPA_BIN, askInput, decideMany, startOpa, stopOpa } from '../helpers/real-opa.js';
import { assertSealedOnce } from '../helpers/real-opa-checks.js';

const MiB = 1024 * 1024;
/** Each decision's input carries 1 MB that gzip shrinks ~1000-fold: OPA packs ~70 per chunk. */
const PAD = 'a'.repeat(1_000_000);
const DECISIONS = 130;

function inputYaml(port: number, sized: boolean): string {
  const limits = sized ? '\n    max_decoded_bytes: 1032MiB\n    max_inflight_decoded_bytes: 1032MiB' : '';
  return `  - name: upload
    type: opa_service
    listen: 127.0.0.1:${port}
    opa_upload_size_limit_bytes: 1MiB${limits}`;
}

const opaConfig = (port: number) => `services:
  tailseal: { url: "http://127.0.0.1:${port}" }
decision_logs:
  service: tailseal
  reporting: { min_delay_seconds: 1, max_delay_seconds: 2, upload_size_limit_bytes: 1048576 }
`;

describe('real OPA at upload_size_limit_bytes 1 MiB (chunks far over 64 MiB decoded)', () => {
  const title = 'the default limits are refused at start; limits sized by the rule take every chunk';
  it(title, { timeout: 120_000 }, async (t) => {
    if (!OPA_BIN) return t.skip(NO_OPA);
    const port = await freePort();
    const refused = makeWorkspace({ inputsYaml: inputYaml(port, false) });
    try {
      const d = startDaemon(refused);
      await waitFor(() => d.child.exitCode !== null || logsWith(d, 'tailseal running.').length > 0, 'start or refusal');
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
      assert.notEqual(await d.exited, 0, 'tailseal must not start with limits OPA can exceed');
      const text = d.logs.join('\n');
      assert.match(text, /CONFIG_INVALID/);
      assert.match(text, /max_decoded_bytes: 67108864 is below what a chunk of opa_upload_size_limit_bytes \(1048576/);
      assert.match(text, /outbox\.max_bytes: \d+ is below the entries one chunk/);
    } finally {
      refused.cleanup();
    }

    const w = makeWorkspace({ inputsYaml: inputYaml(port, true), outboxMaxBytes: '2100MiB' });
    const d = startDaemon(w);
    let opa;
    try {
      await receiversListening(d);
      opa = await startOpa(join(w.root, 'opa-run'), opaConfig(port));
      const ids = await decideMany(opa, 0, DECISIONS, (i) => ({ ...askInput(i), pad: PAD }), { concurrency: 2 });
      await stopOpa(opa); // uploads the rest before exiting
      const decisions = () => storeEntries(w.storeDir).filter((e) => e.kind === 'decision');
      await waitFor(() => decisions().length >= DECISIONS, 'every decision in the store', 60_000);
      assert.equal(await stopDaemon(d), 0, d.logs.slice(-20).join('\n'));

      const entries = decisions();
      // An event's offset is its place in the decoded body: the largest upload's decoded size.
      const largest = Math.max(...entries.map((e) => e.offset + e.payload.length));
      // How far OPA grows a chunk depends on how many decisions wait in its buffer at each upload
      // (72-74 MiB seen on a quiet machine, 59 MiB under load): far over the 8 MiB body limit either way.
      assert.ok(largest > 32 * MiB, `the largest upload decoded to ${largest} bytes: OPA did not grow its chunk`);
      assertSealedOnce(
        entries.map((e) => JSON.parse(Buffer.from(e.payload).toString('utf8'))),
        ids,
      );
      assert.deepEqual(logsWith(d, 'Refused a decision-log upload.'), [], 'no upload refused');
      assert.equal(verifyStore(w).status, 0);
      t.diagnostic(`largest upload: ${(largest / MiB).toFixed(1)} MiB decoded`);
    } finally {
      if (opa) await stopOpa(opa, 'SIGKILL');
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
      await d.exited;
      w.cleanup();
    }
  });
});
