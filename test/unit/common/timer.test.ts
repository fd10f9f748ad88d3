// Issue 15 item 11: a configured wait of 2^31 ms or more must not fire after 1 ms (Node's
// setTimeout does, so `audit.interval: 30d` ran ~550 audits/s).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_MS } from '../../../src/common/units.js';
import { createLogger } from '../../../src/log.js';
import { setLongTimeout, timerDelay } from '../../../src/common/timer.js';
import { Auditor } from '../../../src/runtime/audit.js';

const THIRTY_DAYS = 30 * 86_400_000;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('long timers', () => {
  it('a wait beyond the timer limit does not fire early', async () => {
    let fired = 0;
    const t = setLongTimeout(() => fired++, THIRTY_DAYS);
    await tick(100);
    t.clear();
    assert.equal(fired, 0);
  });

  it('a wait longer than one step is chained and fires once, not before it is due', async () => {
    const t0 = Date.now();
    const at: number[] = [];
    await new Promise<void>((res) => setLongTimeout(() => (at.push(Date.now() - t0), res()), 120, 25));
    await tick(60);
    assert.equal(at.length, 1);
    assert.ok(at[0]! >= 119, `fired after ${at[0]} ms`);
  });

  it('clear() cancels a chained wait; timerDelay caps a single delay', async () => {
    let fired = 0;
    const t = setLongTimeout(() => fired++, 60, 10);
    await tick(25);
    t.clear();
    await tick(80);
    assert.equal(fired, 0);
    assert.equal(timerDelay(2 * MAX_TIMER_MS), MAX_TIMER_MS);
    assert.equal(timerDelay(-5), 0);
  });

  it('an audit interval of 30 days runs one pass, not one per millisecond', async () => {
    let passes = 0;
    const targets = () => {
      passes++;
      return [];
    };
    const auditor = new Auditor(
      targets,
      () => [],
      THIRTY_DAYS,
      THIRTY_DAYS,
      createLogger('silent'),
      () => undefined,
    );
    auditor.start(0);
    await tick(300);
    await auditor.stop();
    assert.equal(passes, 1);
  });
});
