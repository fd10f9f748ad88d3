// Polling a local service in integration tests: its text at a path, and a bounded wait for a
// condition on what it answers (a connection refused while it starts counts as "not yet").
import assert from 'node:assert/strict';

/** GET http://127.0.0.1:<port><path>, which must answer 200; its body as text. */
export async function getText(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  assert.equal(res.status, 200, path);
  return res.text();
}

/** Polls `read` every `stepMs` until `ok` holds; fails naming `what` and the last value after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 30_000,
  stepMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
