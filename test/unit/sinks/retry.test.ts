// The shared retry classifier.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TailsealError } from '../../../src/errors.js';
import { classifyError, classifyStatus, retryDelay } from '../../../src/sinks/retry.js';

const sysErr = (code: string) => Object.assign(new Error(code), { code });

describe('retry classifier', () => {
  const errors: [string, unknown, string][] = [
    ['SINK_CONFLICT', new TailsealError('SINK_CONFLICT', 'x'), 'conflict'],
    ['SINK_PERMANENT', new TailsealError('SINK_PERMANENT', 'x'), 'permanent'],
    ['SINK_RETRYABLE', new TailsealError('SINK_RETRYABLE', 'x'), 'retryable'],
    ['ENOSPC (disk full)', sysErr('ENOSPC'), 'retryable'],
    ['ECONNRESET', sysErr('ECONNRESET'), 'retryable'],
    ['undici connect timeout', sysErr('UND_ERR_CONNECT_TIMEOUT'), 'retryable'],
    ['undici invalid argument (a config problem)', sysErr('UND_ERR_INVALID_ARG'), 'permanent'],
    ['a request past its deadline (AbortSignal.timeout)', sysErr('ABORT_ERR'), 'retryable'],
    ['EACCES', sysErr('EACCES'), 'permanent'],
    ['ENOTDIR', sysErr('ENOTDIR'), 'permanent'],
    ['an unknown throw', 'boom', 'retryable'],
  ];
  for (const [desc, err, want] of errors) it(`error ${desc} -> ${want}`, () => assert.equal(classifyError(err), want));

  const statuses: [number, string][] = [
    [200, 'permanent'],
    [400, 'permanent'],
    [403, 'permanent'],
    [408, 'retryable'],
    [409, 'conflict'],
    [412, 'conflict'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
    [599, 'retryable'],
  ];
  for (const [status, want] of statuses)
    it(`status ${status} -> ${want}`, () => assert.equal(classifyStatus(status), want));

  it('backoff grows exponentially with full jitter, capped', () => {
    const b = { baseMs: 100, maxMs: 1000 };
    assert.equal(
      retryDelay('retryable', 1, b, () => 0.999),
      99,
    );
    assert.equal(
      retryDelay('retryable', 3, b, () => 0.999),
      399,
    );
    assert.equal(
      retryDelay('retryable', 30, b, () => 0.999),
      999,
    );
    assert.equal(
      retryDelay('retryable', 3, b, () => 0),
      25,
      'never below a quarter of the base',
    );
    assert.equal(retryDelay('permanent', 1, b), 1000, 'permanent errors wait the maximum');
    assert.equal(retryDelay('conflict', 1, b), 1000);
  });
});
