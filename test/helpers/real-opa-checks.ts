// What the real-OPA tests check of a store: each decision_id OPA issued sealed exactly once,
// with OPA's mask policy applied (askInput's password erased, the rest intact).
import assert from 'node:assert/strict';
import { cli } from './daemon.js';

/** `events`: stored decisions (parsed); `ids`: decision_id -> i of askInput(i), as OPA answered. */
export function assertSealedOnce(events: Record<string, any>[], ids: Map<string, number>): void {
  const seen = new Map<string, number>();
  for (const e of events) seen.set(e.decision_id, (seen.get(e.decision_id) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice, [], 'decisions sealed more than once');
  const missing = [...ids.keys()].filter((id) => !seen.has(id));
  assert.deepEqual(missing, [], 'decisions OPA issued that were not sealed');
  const foreign = [...seen.keys()].filter((id) => !ids.has(id));
  assert.deepEqual(foreign, [], 'sealed decisions OPA never issued to the test');
  for (const e of events) {
    const i = ids.get(e.decision_id)!;
    assert.equal(e.input.user, `u${i}`, 'the decision of its request');
    assert.equal(e.input.password, undefined, "OPA's mask policy erased the password");
    assert.deepEqual(e.erased, ['/input/password']);
  }
}

/** The persisted counters of `tailseal status --json`. */
export function statusCounters(configFile: string): Record<string, number> {
  const r = cli(['status', '--config', configFile, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { counters: Record<string, number> }).counters;
}
