// Mask and drop rules: OPA's own mask test cases (v1/plugins/logs/mask_test.go, copied to
// test/fixtures/opa), then tailseal's hmac, drop and failure cases, one per behaviour.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { type MaskConfig, maskSchema } from '../../../src/mask/config.js';
import { Masker, type MaskOutcome } from '../../../src/mask/masker.js';
import { OPA_CORPUS } from '../../helpers/paths.js';

const masker = (rules: unknown[], extra: Partial<MaskConfig> = {}) =>
  new Masker(maskSchema.parse({ rules, ...extra })!);
const run = (m: Masker, event: unknown): MaskOutcome => m.apply(Buffer.from(JSON.stringify(event)));
const after = (o: MaskOutcome): unknown => {
  assert.equal(o.kind, 'masked', JSON.stringify(o));
  return JSON.parse((o as { payload: Buffer }).payload.toString('utf8'));
};

describe("mask rules: OPA's mask_test.go cases", () => {
  // The event/expected pairs are OPA's; the rule of each pair is the one mask_test.go applies.
  const lines = readFileSync(join(OPA_CORPUS, 'v1_plugins_logs_mask_test.event-exp-pairs.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const rules: unknown[][] = [
    [{ erase: '/input' }],
    [{ upsert: '/input', value: { RandoString: 'foo' } }],
    [{ erase: '/result' }],
    [{ upsert: '/result', value: 'upserted' }],
    [{ upsert: '/input/foo', value: 'upserted' }],
    [{ upsert: '/input/foo/bar/baz', value: 100 }],
    [{ erase: '/input/foo/0/bar/1' }],
    [{ erase: '/input/bar' }],
    [{ erase: '/input/:path' }],
    [{ erase: '/input/a/b' }, { erase: '/result/c/d' }],
  ];
  assert.equal(lines.length, rules.length * 2);
  rules.forEach((r, i) => {
    it(`pair ${i + 1}: ${JSON.stringify(r)}`, () => {
      assert.deepEqual(after(run(masker(r), JSON.parse(lines[2 * i]!))), JSON.parse(lines[2 * i + 1]!));
    });
  });
});

describe('mask rules: tailseal cases', () => {
  const event = {
    decision_id: 'd-1',
    input: { user: 'alice', password: 'hunter2', items: [1, 2, 3], 'a/b': 1, 'm~n': 2 },
    result: true,
    level: 'info',
    msg: 'Decision Log',
    type: 'openpolicyagent.org/decision_logs',
  };

  it('a decision no rule touches keeps its exact bytes', () => {
    assert.deepEqual(run(masker([{ erase: '/input/nothing' }, { drop: '/input/user', equals: 'bob' }]), event), {
      kind: 'keep',
    });
  });

  it('"~1" and "~0" escape "/" and "~" in keys; array indices address elements', () => {
    const got = after(
      run(masker([{ erase: '/input/a~1b' }, { erase: '/input/m~0n' }, { erase: '/input/items/1' }]), event),
    ) as { input: Record<string, unknown>; erased: string[] };
    assert.deepEqual(got.input, { user: 'alice', password: 'hunter2', items: [1, 3] });
    assert.deepEqual(got.erased, ['/input/a~1b', '/input/m~0n', '/input/items/1']);
  });

  it('hmac replaces a value by HMAC-SHA256 of its JSON: equal values stay equal, keys differ', () => {
    const key = { hmac_key: 'k'.repeat(32) };
    const a = after(run(masker([{ hmac: '/input/user' }], key), event)) as {
      input: { user: string };
      masked: string[];
    };
    const b = after(run(masker([{ hmac: '/input/user' }], key), { ...event, decision_id: 'd-2' })) as {
      input: { user: string };
    };
    const c = after(run(masker([{ hmac: '/input/user' }], { hmac_key: 'other-key-0123456789' }), event)) as {
      input: { user: string };
    };
    assert.match(a.input.user, /^[0-9a-f]{64}$/);
    assert.equal(a.input.user, b.input.user);
    assert.notEqual(a.input.user, c.input.user);
    assert.deepEqual(a.masked, ['/input/user']);
    assert.ok(!JSON.stringify(a).includes('alice'));
  });

  it('drop by equal value and by pattern, in rule order, naming the rule', () => {
    assert.deepEqual(run(masker([{ erase: '/input/password' }, { drop: '/input/user', equals: 'alice' }]), event), {
      kind: 'dropped',
      rule: 1,
      decisionId: 'd-1',
    });
    assert.deepEqual(run(masker([{ drop: '/input/user', matches: '^al' }]), event), {
      kind: 'dropped',
      rule: 0,
      decisionId: 'd-1',
    });
    assert.deepEqual(run(masker([{ drop: '/input/items', equals: [1, 2, 3] }]), event), {
      kind: 'dropped',
      rule: 0,
      decisionId: 'd-1',
    });
    assert.deepEqual(
      run(masker([{ drop: '/input/items', matches: '1' }]), event),
      { kind: 'keep' },
      'patterns match strings only',
    );
  });

  it('console lines keep their level/msg/time/type members', () => {
    const got = after(run(masker([{ erase: '/input/password' }]), event)) as Record<string, unknown>;
    assert.equal(got.msg, 'Decision Log');
    assert.equal(got.type, 'openpolicyagent.org/decision_logs');
  });

  const failures: [string, unknown[], unknown, RegExp][] = [
    [
      'an upsert through a string',
      [{ upsert: '/input/user/name', value: 'x' }],
      event,
      /cannot set a member inside the string at \/input\/user/,
    ],
    [
      'an "erased" member that is not an array',
      [{ erase: '/input/user' }],
      { ...event, erased: 'x' },
      /"erased" is not an array/,
    ],
    ['an integer over 2^53 in a rewritten event', [{ erase: '/input/password' }], null, /cannot be rewritten exactly/],
  ];
  for (const [desc, rules, ev, want] of failures) {
    it(`fails, never drops: ${desc}`, () => {
      const payload =
        ev === null
          ? Buffer.from('{"decision_id":"d-9","req_id":18446744073709551615,"input":{"password":"p"}}')
          : Buffer.from(JSON.stringify(ev));
      const o = masker(rules).apply(payload);
      assert.equal(o.kind, 'error');
      assert.match((o as { message: string }).message, want);
      assert.ok(!(o as { message: string }).message.includes('hunter2'), 'no value in the message');
    });
  }

  it('the version is named in config, or a hash of the rules', () => {
    assert.equal(masker([{ erase: '/input/x' }], { version: 'rules-7' }).version, 'rules-7');
    assert.match(masker([{ erase: '/input/x' }]).version, /^sha256-[0-9a-f]{16}$/);
    assert.notEqual(masker([{ erase: '/input/x' }]).version, masker([{ erase: '/input/y' }]).version);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'a pointer outside /input, /result, /nd_builtin_cache',
      { rules: [{ erase: '/labels/id' }] },
      /OPA masks only under/,
    ],
    ['a pointer without the leading "/"', { rules: [{ erase: 'input/x' }] }, /./],
    ['hmac without a key', { rules: [{ hmac: '/input/user' }] }, /hmac rules need hmac_key/],
    ['a short hmac key', { rules: [{ hmac: '/input/user' }], hmac_key: 'short' }, /at least 16 characters/],
    ['an invalid pattern', { rules: [{ drop: '/input/x', matches: '(' }] }, /./],
    ['no rules', { rules: [] }, /./],
  ];
  for (const [desc, mask, want] of bad) {
    it(`config refuses ${desc}: CONFIG_INVALID`, () => {
      const raw = {
        state_dir: '/s',
        origin: 'o.example/x',
        signing: { key_file: '/k' },
        inputs: [{ name: 'opa', type: 'file', paths: ['/x/*.log'], mask }],
        sinks: [{ name: 'l', type: 'file', dir: '/d' }],
      };
      assert.throws(
        () => parseConfig(raw, 'x.yaml', {}),
        (e: { code?: string; message: string }) =>
          e.code === 'CONFIG_INVALID' && /inputs\[0\]\.mask/.test(e.message) && want.test(e.message),
      );
    });
  }
});
