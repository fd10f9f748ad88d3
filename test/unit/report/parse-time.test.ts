// `report --since/--until`: RFC 3339 or Unix milliseconds; anything else is USAGE naming both forms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTime } from '../../../src/cli/report.js';

describe('report: parseTime', () => {
  const good: [string, number][] = [
    ['2026-11-29T12:00:00Z', Date.UTC(2026, 10, 29, 12)],
    ['2026-11-29t12:00:00.250z', Date.UTC(2026, 10, 29, 12, 0, 0, 250)],
    ['2026-11-29T13:00:00+01:00', Date.UTC(2026, 10, 29, 12)],
    ['1795953600000', 1795953600000],
    [' 0 ', 0],
  ];
  for (const [text, ms] of good)
    it(`accepts ${JSON.stringify(text)}`, () => assert.equal(parseTime('--since', text), ms));

  for (const text of [
    '',
    'yesterday',
    '2026-11-29',
    '2026-11-29 12:00:00Z',
    '2026-13-01T00:00:00Z',
    '-1',
    '1e12',
    '99999999999999999',
  ])
    it(`refuses ${JSON.stringify(text)}`, () =>
      assert.throws(
        () => parseTime('--until', text),
        (err: Error & { code?: string }) =>
          err.code === 'USAGE' &&
          /^--until ".*" is not a time: give RFC 3339 .* or Unix milliseconds/.test(err.message),
      ));
});
