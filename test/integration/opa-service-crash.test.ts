// kill -9 of tailseal while OPA uploads to it: OPA keeps every chunk it got no 2xx for and sends
// it again, so a chunk committed just before the kill arrives twice. Afterwards every decision_id
// is in the trail exactly once and the trail verifies.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  freePort,
  killDaemon,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  verifyStore,
  waitFor,
  receiversListening,
} from '../helpers/daemon.js';
import { prng } from '../helpers/opa-sample.js';
import { event, upload } from '../helpers/opa-upload.js';

const TOKEN = 'crash-4d1f0b7e-secret';
const ROUNDS = 6;

function receiverYaml(port: number): string {
  return `  - name: upload
    type: opa_service
    listen: 127.0.0.1:${port}
    token: ${TOKEN}`;
}

const storedIds = (w: Workspace): string[] =>
  storeEntries(w.storeDir)
    .filter((e) => e.kind === 'decision')
    .map((e) => (JSON.parse(Buffer.from(e.payload).toString('utf8')) as { decision_id: string }).decision_id);

/** What OPA does with a chunk: POST it until some attempt gets a 2xx (bounded here). */
async function uploadUntilAccepted(url: string, chunk: object[], stop: () => boolean): Promise<number> {
  for (let attempt = 1; attempt <= 400; attempt++) {
    try {
      const r = await upload(url, chunk, { token: TOKEN });
      if (r.status >= 200 && r.status < 300) return attempt;
    } catch {
      // Connection refused or reset: tailseal is down; OPA backs off and retries.
    }
    if (stop()) return 0;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('a chunk was never accepted');
}

describe('opa_service crash safety', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  it('killed right after committing an upload, before answering: the retry seals nothing twice', async () => {
    const port = await freePort();
    const w = makeWorkspace({ inputsYaml: receiverYaml(port) });
    cleanups.push(w.cleanup);
    const url = `http://127.0.0.1:${port}/logs`;
    const chunk = [event('once-1'), event('once-2'), event('once-3')];
    // This daemon dies the moment the chunk is committed: OPA sees a reset, not a 2xx.
    const dying = startDaemon(w, { TAILSEAL_FAULT: 'kill-after-commit' });
    await receiversListening(dying);
    await assert.rejects(upload(url, chunk, { token: TOKEN }));
    assert.equal(await dying.exited, -1, 'killed by the signal');
    const d = startDaemon(w);
    await receiversListening(d);
    const retry = await upload(url, chunk, { token: TOKEN });
    assert.equal(retry.status, 200);
    await waitFor(() => logsWith(d, 'Skipped decisions already sealed').length === 1, 'the duplicates to be skipped');
    assert.equal(await stopDaemon(d), 0);
    assert.deepEqual(storedIds(w), ['once-1', 'once-2', 'once-3']);
    assert.equal(verifyStore(w).status, 0);
  });

  it(`kill -9 at ${ROUNDS} random points while uploading with retries: each decision exactly once`, async () => {
    const port = await freePort();
    const w = makeWorkspace({ inputsYaml: receiverYaml(port) });
    cleanups.push(w.cleanup);
    const url = `http://127.0.0.1:${port}/logs`;
    const rnd = prng(Number(process.env.TAILSEAL_CRASH_SEED ?? 7777));
    let d: DaemonProc | undefined;
    cleanups.push(() => d?.child.kill('SIGKILL'));
    let n = 0;
    let done = false;
    let accepted = 0;
    const sent: string[] = [];
    // OPA's side: chunks of 1..40 events, one after another, each retried until accepted.
    const client = (async () => {
      while (!done) {
        const chunk = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => event(`dec-${n++}`));
        sent.push(...chunk.map((e) => e.decision_id as string));
        await uploadUntilAccepted(url, chunk, () => false);
        accepted++;
      }
    })();
    for (let round = 0; round < ROUNDS; round++) {
      d = startDaemon(w);
      // Up and taking uploads (start-up time varies with load), then killed at a random moment.
      const before = accepted;
      await waitFor(() => accepted > before, `round ${round}: an upload accepted`, 30_000);
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 400)));
      await killDaemon(d);
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 100)));
    }
    d = startDaemon(w);
    await new Promise((r) => setTimeout(r, 500));
    done = true;
    await client; // the last chunk is accepted by the running daemon
    await waitFor(() => storedIds(w).length >= sent.length, `${sent.length} decisions in the store`, 30_000);
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
    const ids = storedIds(w);
    assert.equal(ids.length, sent.length, 'no decision lost or duplicated');
    assert.deepEqual([...ids].sort(), [...sent].sort());
    assert.ok(accepted > ROUNDS, `uploads were accepted in every round (${accepted})`);
    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});
