// Envelope v1, its chain, and the object NDJSON format, checked against test/vectors/trail.json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  CHAIN_START,
  type Envelope,
  encodeEnvelope,
  envelopeLeafHash,
  nextChain,
} from '../../../src/trail/envelope.js';
import { fromHex, toHex } from '../../../src/trail/hash.js';
import { generateKeyPair, parseSignerKey } from '../../../src/trail/keys.js';
import { CompactRange } from '../../../src/trail/merkle.js';
import { encodeCheckpointLine, encodeEntryLine, encodeObject, encodeObjectAsync } from '../../../src/seal/encoder.js';
import { parseObject } from '../../../src/seal/gzip.js';
import { formatExtension, objectName, parseExtension } from '../../../src/trail/object.js';
import { type SealRecord, type StreamHead, sealRecords, signHead } from '../../../src/seal/sealer.js';
import { REPO_ROOT, VECTORS_DIR } from '../../helpers/paths.js';

// A type-only import: erased at compile time, so the generator does not run.
import type { EnvelopeFields } from '../../vectors/generate.js';

interface TrailVectors {
  key: { name: string; seed: string; signerKey: string; verifierKey: string };
  envelopes: {
    chain_start_hex: string;
    cases: {
      about: string;
      fields: EnvelopeFields;
      payload_hex: string;
      canonical_hex: string;
      leaf_hash_hex: string;
      chain_previous_hex: string;
      chain_hex: string;
      entry_line: string;
    }[];
  };
  refuse: { checkpoint_line: string; cases: { about: string; line: string; code: string }[] };
  trail: {
    origin: string;
    stream: string;
    objects: {
      name: string;
      first_seq: number;
      size: number;
      checkpoint: { note: string; time: number };
      body: string;
    }[];
  };
}

const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'trail.json'), 'utf8')) as TrailVectors;
const code = (c: string) => ({ name: 'TailsealError', code: c });
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const toEnvelope = (f: EnvelopeFields): Envelope => ({
  kind: f.kind,
  stream: f.stream,
  seq: f.seq,
  sealedAt: f.sealed_at,
  source: f.source,
  offset: f.offset,
  payload: utf8(f.payload),
  ...(f.meta ? { meta: f.meta } : {}),
});

const sample = (over: Partial<Envelope> = {}): Envelope => ({
  kind: 'decision',
  stream: 'opa',
  seq: 0,
  sealedAt: 1_764_400_000_000,
  source: '/var/log/opa/decisions.log',
  offset: 0,
  payload: utf8('{"msg":"Decision Log"}'),
  ...over,
});
const CHAIN = new Uint8Array(32).fill(0xab);
const CHAIN_HEX = toHex(CHAIN);
const NOTE =
  'tailseal.test/trail/opa\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 k ' +
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
const entryJson = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    v: 1,
    kind: 'decision',
    stream: 'opa',
    seq: 0,
    sealed_at: 1,
    source: 's',
    offset: 0,
    payload: 'p',
    chain: CHAIN_HEX,
    ...over,
  });
const checkpointJson = JSON.stringify({ v: 1, kind: 'checkpoint', stream: 'opa', note: NOTE });
const object = (...lines: string[]) => utf8(lines.map((l) => `${l}\n`).join(''));

describe('envelope vectors (trail.json)', () => {
  it('starts the chain at 32 zero bytes', () => {
    assert.equal(toHex(CHAIN_START), V.envelopes.chain_start_hex);
    assert.equal(V.envelopes.chain_start_hex, '00'.repeat(32));
  });
  let chain = CHAIN_START;
  for (const c of V.envelopes.cases) {
    it(`reproduces seq ${c.fields.seq}: ${c.about}`, () => {
      const env = toEnvelope(c.fields);
      assert.equal(toHex(env.payload), c.payload_hex);
      assert.equal(toHex(encodeEnvelope(env)), c.canonical_hex);
      const leaf = envelopeLeafHash(env);
      assert.equal(toHex(leaf), c.leaf_hash_hex);
      assert.equal(toHex(chain), c.chain_previous_hex);
      chain = nextChain(chain, leaf);
      assert.equal(toHex(chain), c.chain_hex);
      assert.equal(encodeEntryLine(env, chain).toString('utf8'), c.entry_line);
    });
  }
  it('covers a decision, a gap, multibyte UTF-8, a literal \\u003c escape, an empty source and metadata (v2)', () => {
    const cases = V.envelopes.cases.map((c) => c.fields);
    assert.ok(cases.some((f) => f.kind === 'gap' && f.payload === '{"reason":"line_too_long","length":2000000}'));
    assert.ok(cases.some((f) => f.source === ''));
    const first = cases[0]!;
    assert.ok(first.payload.includes('\\u003c'));
    assert.ok(utf8(first.payload).length > first.payload.length, 'payload has multibyte characters');
    // The version byte, then kind, in the canonical bytes.
    assert.deepEqual(
      V.envelopes.cases.map((c) => c.canonical_hex.slice(0, 4)),
      cases.map((f) => `0${f.meta ? 2 : 1}0${f.kind === 'gap' ? 2 : 1}`),
    );
    assert.ok(
      cases.some((f) => f.meta !== undefined),
      'a version 2 envelope with metadata',
    );
  });
});

describe('refuse vectors (trail.json)', () => {
  for (const c of V.refuse.cases) {
    it(`refuses ${c.about}: ${c.code}`, () => {
      assert.throws(() => parseObject(utf8(`${c.line}\n${V.refuse.checkpoint_line}`)), code(c.code));
    });
  }
  it('cover unknown and duplicate members, number spellings, 2^53, "v":2 with metadata', () => {
    assert.ok(V.refuse.cases.length >= 10);
    assert.ok(V.refuse.cases.some((c) => c.line.startsWith('{"v":2,') && c.line.includes('"meta":')));
  });
});

describe('trail vector (trail.json)', () => {
  it('is reproduced byte for byte by sealRecords, signHead and encodeObject', () => {
    const signer = parseSignerKey(V.key.signerKey);
    assert.deepEqual(generateKeyPair(V.key.name, fromHex(V.key.seed)), {
      signerKey: V.key.signerKey,
      verifierKey: V.key.verifierKey,
    });
    let head: StreamHead = { name: V.trail.stream, nextSeq: 0, chainHead: CHAIN_START, edge: CompactRange.empty() };
    for (const o of V.trail.objects) {
      const stored = parseObject(utf8(o.body));
      const records: SealRecord[] = stored.entries.map((e) => ({
        kind: e.envelope.kind,
        source: e.envelope.source,
        offset: e.envelope.offset,
        payload: e.envelope.payload,
      }));
      const sealedAt = stored.entries[0]?.envelope.sealedAt ?? 0;
      const sealed = sealRecords(head, records, sealedAt);
      head = sealed.head;
      const note = signHead(V.trail.origin, head, o.checkpoint.time, signer);
      assert.equal(note, o.checkpoint.note);
      assert.equal(stored.note, note);
      const { name, body } = encodeObject(
        {
          stream: V.trail.stream,
          firstSeq: o.first_seq,
          size: o.size,
          createdAt: o.checkpoint.time,
          lines: sealed.entries.map((e) => e.line),
          note,
        },
        false,
      );
      assert.equal(name, o.name);
      assert.equal(body.toString('utf8'), o.body);
    }
  });
});

describe('entry lines', () => {
  const payloads: { desc: string; payload: Uint8Array }[] = [
    {
      desc: 'multibyte UTF-8 (2, 3 and 4 bytes)',
      payload: utf8('{"user":"zo\u00eb","city":"\u6771\u4eac","lock":"\u{1F512}"}'),
    },
    { desc: 'a NUL byte', payload: utf8('{"a":"x\u0000y"}') },
    { desc: 'a CR at the end (CRLF line endings)', payload: utf8('{"msg":"Decision Log"}\r') },
    { desc: 'a literal \\u003c escape and a backslash', payload: utf8('{"q":"a \\u003c b","p":"C:\\\\opa"}') },
    { desc: 'an empty payload', payload: new Uint8Array(0) },
  ];
  for (const p of payloads) {
    it(`round-trips ${p.desc} byte for byte through parseObject`, () => {
      const env = sample({ payload: p.payload, seq: 7, offset: 4096 });
      const line = encodeEntryLine(env, CHAIN);
      const parsed = parseObject(Buffer.concat([line, encodeCheckpointLine('opa', NOTE)]));
      assert.equal(parsed.entries.length, 1);
      const got = parsed.entries[0]!;
      assert.deepEqual(Buffer.from(got.envelope.payload), Buffer.from(p.payload));
      assert.deepEqual({ ...got.envelope, payload: null }, { ...env, payload: null });
      assert.equal(toHex(got.chain), CHAIN_HEX);
      assert.equal(got.line, 0);
      assert.deepEqual(encodeEntryLine(got.envelope, got.chain), line);
      assert.equal(toHex(encodeEnvelope(got.envelope)), toHex(encodeEnvelope(env)));
      assert.equal(parsed.note, NOTE);
      assert.equal(parsed.stream, 'opa');
    });
  }
  it('round-trips metadata (envelope v2), keys sorted, "__proto__" an ordinary key', () => {
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead).
    const meta = JSON.parse('{"z.last":"z","__proto__":"p","a.first":"caf\u00e9"}') as Record<string, string>;
    const env = sample({ payload: utf8('{"a":1}'), meta });
    const line = encodeEntryLine(env, CHAIN);
    assert.match(
      line.toString('utf8'),
      /"offset":\d+,"meta":\{"__proto__":"p","a.first":"café","z.last":"z"\},"payload":/,
    );
    const got = parseObject(Buffer.concat([line, encodeCheckpointLine('opa', NOTE)])).entries[0]!;
    assert.deepEqual({ ...got.envelope.meta }, { ...meta });
    assert.equal(toHex(encodeEnvelope(got.envelope)), toHex(encodeEnvelope(env)));
    assert.equal(encodeEnvelope(env)[0], 2, 'version 2 with metadata');
    assert.equal(encodeEnvelope(sample({ meta: {} }))[0], 1, 'no pairs: version 1');
  });

  const badMeta: [string, string][] = [
    ['not an object', '"meta":"k8s"'],
    ['an array', '"meta":[["a","b"]]'],
    ['empty (a second spelling of none)', '"meta":{}'],
    ['a non-string value', '"meta":{"a":1}'],
  ];
  for (const [desc, field] of badMeta) {
    it(`refuses metadata that is ${desc}: ENTRY_MALFORMED`, () => {
      const line = encodeEntryLine(sample({ payload: utf8('{}') }), CHAIN)
        .toString('utf8')
        .replace('"payload":', `${field},"payload":`);
      assert.throws(
        () => parseObject(Buffer.from(line + encodeCheckpointLine('opa', NOTE).toString('utf8'))),
        (e: { code?: string; message: string }) => e.code === 'ENTRY_MALFORMED' && /meta/.test(e.message),
      );
    });
  }

  it('escapes payload bytes exactly as JSON.stringify of the decoded text (every byte value, UTF-8, invalid UTF-8)', () => {
    // The line is written from the payload's bytes (seal/encoder.ts escapeAscii); this is the reference
    // it replaced, the JSON.stringify of the whole entry in key order.
    const reference = (e: Envelope, chain: Uint8Array) =>
      JSON.stringify({
        v: 1,
        kind: e.kind,
        stream: e.stream,
        seq: e.seq,
        sealed_at: e.sealedAt,
        source: e.source,
        offset: e.offset,
        ...(e.meta ? { meta: e.meta } : {}),
        payload: Buffer.from(e.payload).toString('utf8'),
        chain: toHex(chain),
      }) + '\n';
    const payloads: Buffer[] = [];
    for (let c = 0; c < 256; c++) payloads.push(Buffer.from([0x61, c, 0x62]));
    payloads.push(
      utf8('{"u":"\u00fc\u20ac\u{1F600}","q":"\\"\\\\"}'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xc3]),
      Buffer.alloc(0),
    );
    let x = 7;
    for (let i = 0; i < 300; i++) {
      const len = i % 50;
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = (x = (x * 1103515245 + 12345) >>> 0) % (i % 3 === 0 ? 256 : 128);
      payloads.push(b);
    }
    const numbers = [0, 9, 10, 99, 100, 1_764_400_000_000, 2 ** 32, 2 ** 53 - 1];
    for (const [i, payload] of payloads.entries()) {
      const n = (k: number) => numbers[(i + k) % numbers.length]!;
      for (const e of [
        sample({ payload, seq: n(0), offset: n(3), sealedAt: n(5) }),
        sample({ payload, kind: 'gap', source: '/var/log/ü "x"', meta: { a: '"', pod: 'p\u00e9' } }),
      ]) {
        // (meta keys in sorted order, as entry lines keep them)
        assert.equal(
          encodeEntryLine(e, CHAIN).toString('utf8'),
          reference(e, CHAIN),
          `payload ${payload.toString('hex')}`,
        );
      }
    }
  });

  it('ends every entry line with exactly one "\\n" and no raw control characters', () => {
    const line = encodeEntryLine(sample({ payload: utf8('a\r\u0000\tb') }), CHAIN).toString('utf8');
    assert.ok(line.endsWith('}\n'));
    // eslint-disable-next-line no-control-regex -- the test asserts that no control character is written
    assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f]/);
  });
});

describe('objects', () => {
  it('names data objects by zero-padded seq range so that names sort in seq order', () => {
    assert.equal(objectName('opa', 0, 3, 1, false), 'opa/00000000000000000000-00000000000000000002.ndjson');
    assert.equal(objectName('opa', 3, 5, 1, true), 'opa/00000000000000000003-00000000000000000004.ndjson.gz');
    assert.equal(
      objectName('opa', 9_007_199_254_740_990, 9_007_199_254_740_991, 1, false),
      'opa/00009007199254740990-00009007199254740990.ndjson',
    );
    const names = [
      [0, 9],
      [9, 10],
      [10, 100],
      [100, 1000],
    ].map(([a, b]) => objectName('opa', a!, b!, 1, false));
    assert.deepEqual([...names].reverse().sort(), names);
  });
  it('names a heartbeat by its tree size and signing time', () => {
    assert.equal(
      objectName('opa', 5, 5, 1_764_400_360_000, false),
      'opa/heartbeat-00000000000000000005-1764400360000.ndjson',
    );
    assert.equal(objectName('opa', 0, 0, 7, true), 'opa/heartbeat-00000000000000000000-7.ndjson.gz');
  });
  it('encodes the same entries with gzip=true and parses them back', () => {
    const lines = [0, 1, 2].map((seq) =>
      encodeEntryLine(sample({ seq, payload: utf8(`{"n":${seq},"u":"\u00fc"}`) }), CHAIN),
    );
    const o = { stream: 'opa', firstSeq: 0, size: 3, createdAt: 1, lines, note: NOTE };
    const plain = encodeObject(o, false);
    const gz = encodeObject(o, true);
    assert.equal(gz.name, `${plain.name}.gz`);
    assert.deepEqual([gz.body[0], gz.body[1]], [0x1f, 0x8b]);
    assert.notDeepEqual(gz.body, plain.body);
    assert.deepEqual(parseObject(gz.body), parseObject(plain.body));
    assert.equal(parseObject(gz.body).entries.length, 3);
    assert.deepEqual(encodeObject(o, true).body, gz.body, 'deterministic bytes for retried uploads');
  });
  it('encodes the same name and bytes when compressing in the thread pool (encodeObjectAsync)', async () => {
    const lines = Array.from({ length: 200 }, (_, seq) =>
      encodeEntryLine(sample({ seq, payload: utf8(`{"n":${seq}}`) }), CHAIN),
    );
    const o = { stream: 'opa', firstSeq: 0, size: 200, createdAt: 1, lines, note: NOTE };
    for (const gzip of [true, false]) assert.deepEqual(await encodeObjectAsync(o, gzip), encodeObject(o, gzip));
  });
  it('parses a heartbeat (no entry lines)', () => {
    const { body } = encodeObject({ stream: 'opa', firstSeq: 5, size: 5, createdAt: 9, lines: [], note: NOTE }, false);
    assert.deepEqual(parseObject(body), { entries: [], note: NOTE, stream: 'opa' });
  });
  it('reports an object without a checkpoint line as note: null (truncated)', () => {
    const parsed = parseObject(object(entryJson()));
    assert.equal(parsed.note, null);
    assert.equal(parsed.entries.length, 1);
  });

  const malformed: { desc: string; bytes: Uint8Array }[] = [
    { desc: 'a line that is not JSON', bytes: object(entryJson(), '{"v":1,"kind":', checkpointJson) },
    { desc: 'a line that is a JSON array', bytes: object('[1,2]', checkpointJson) },
    { desc: 'format version 2', bytes: object(entryJson({ v: 2 }), checkpointJson) },
    { desc: 'no format version', bytes: object(entryJson({ v: undefined }), checkpointJson) },
    { desc: 'a missing "chain"', bytes: object(entryJson({ chain: undefined }), checkpointJson) },
    { desc: 'a "chain" of 63 hex digits', bytes: object(entryJson({ chain: CHAIN_HEX.slice(1) }), checkpointJson) },
    {
      desc: 'a "chain" in upper-case hex',
      bytes: object(entryJson({ chain: CHAIN_HEX.toUpperCase() }), checkpointJson),
    },
    { desc: 'an unknown kind', bytes: object(entryJson({ kind: 'decisions' }), checkpointJson) },
    { desc: 'a seq that is a string', bytes: object(entryJson({ seq: '0' }), checkpointJson) },
    { desc: 'a fractional offset', bytes: object(entryJson({ offset: 1.5 }), checkpointJson) },
    { desc: 'a payload that is not a string', bytes: object(entryJson({ payload: { msg: 'x' } }), checkpointJson) },
    {
      desc: 'a checkpoint line without a note',
      bytes: object(entryJson(), JSON.stringify({ v: 1, kind: 'checkpoint', stream: 'opa' })),
    },
    { desc: 'a line after the checkpoint line', bytes: object(entryJson(), checkpointJson, entryJson({ seq: 1 })) },
    { desc: 'two checkpoint lines', bytes: object(entryJson(), checkpointJson, checkpointJson) },
    { desc: 'no final newline', bytes: utf8(`${entryJson()}\n${checkpointJson}`) },
    { desc: 'an empty line', bytes: object(entryJson(), '', checkpointJson) },
    { desc: 'gzip magic bytes followed by garbage', bytes: Uint8Array.of(0x1f, 0x8b, 1, 2, 3, 4) },
    { desc: 'a truncated gzip stream', bytes: gzipSync(object(entryJson(), checkpointJson)).subarray(0, 20) },
  ];
  for (const c of malformed) {
    it(`parseObject rejects ${c.desc}: ENTRY_MALFORMED`, () =>
      assert.throws(() => parseObject(c.bytes), code('ENTRY_MALFORMED')));
  }
  // One reading per line (docs/trail-format.md, "Entry lines"): members outside the leaf hash,
  // other spellings of the same values, and u64 values JSON numbers cannot hold are refused.
  const entry = entryJson();
  const metaEnvelope = sample({ meta: { 'k8s.pod': 'p', 'log.format': 'cri' } });
  const metaLine = encodeEntryLine(metaEnvelope, CHAIN).toString('utf8').slice(0, -1);
  const notOneReading: { desc: string; line: string; message: RegExp }[] = [
    { desc: 'an extra member after "chain"', line: entryJson({ x: 0 }), message: /unknown member "x"/ },
    { desc: 'an extra member first', line: `{"x":0,${entry.slice(1)}`, message: /unknown member "x"/ },
    {
      desc: 'an extra "__proto__" member',
      line: `{"__proto__":{},${entry.slice(1)}`,
      message: /unknown member "__proto__"/,
    },
    {
      desc: 'an extra member on the checkpoint line',
      line: checkpointJson.replace('{"v":1,', '{"v":1,"size":9,'),
      message: /unknown member "size"/,
    },
    {
      desc: 'a duplicate member (two readings: JSON parsers keep the first or the last)',
      line: entry.replace('"seq":0,', '"seq":0,"seq":0,'),
      message: /canonical form/,
    },
    { desc: 'a seq spelled 0.0', line: entry.replace('"seq":0,', '"seq":0.0,'), message: /canonical form/ },
    { desc: 'a seq spelled -0', line: entry.replace('"seq":0,', '"seq":-0,'), message: /canonical form/ },
    {
      desc: 'a sealed_at spelled 1e0',
      line: entry.replace('"sealed_at":1,', '"sealed_at":1e0,'),
      message: /canonical form/,
    },
    {
      desc: 'a seq of 2^53 (not exact as a JSON number)',
      line: entry.replace('"seq":0,', '"seq":9007199254740992,'),
      message: /"seq" must be an integer from 0 to 2\^53-1/,
    },
    {
      desc: 'an offset of 2^64 - 1',
      line: entry.replace('"offset":0,', '"offset":18446744073709551615,'),
      message: /"offset" must be an integer/,
    },
    {
      desc: 'a negative sealed_at',
      line: entry.replace('"sealed_at":1,', '"sealed_at":-1,'),
      message: /"sealed_at" must be an integer/,
    },
    {
      desc: 'members in another order',
      line: entry.replace('"kind":"decision","stream":"opa"', '"stream":"opa","kind":"decision"'),
      message: /canonical form from byte 8 on/,
    },
    { desc: 'a space after a colon', line: entry.replace('"seq":0', '"seq": 0'), message: /canonical form/ },
    {
      desc: 'a payload character escaped that JSON.stringify keeps',
      line: entry.replace('"payload":"p"', '"payload":"\\u0070"'),
      message: /canonical form/,
    },
    {
      desc: 'a source with a lone surrogate (hashed as U+FFFD: a second spelling)',
      line: entry.replace('"source":"s"', '"source":"\\ud800"'),
      message: /"source" holds a lone surrogate/,
    },
    {
      desc: 'a payload with a lone surrogate (hashed as U+FFFD: a second spelling)',
      line: entry.replace('"payload":"p"', '"payload":"\\udc00"'),
      message: /"payload" holds a lone surrogate/,
    },
    {
      desc: 'a metadata value with a lone surrogate',
      line: metaLine.replace('"k8s.pod":"p"', '"k8s.pod":"\\ud800"'),
      message: /"meta.k8s.pod" holds a lone surrogate/,
    },
    {
      desc: 'metadata pairs out of key order',
      line: metaLine.replace('"k8s.pod":"p","log.format":"cri"', '"log.format":"cri","k8s.pod":"p"'),
      message: /canonical form/,
    },
    {
      desc: 'a metadata line with "v":2 (the envelope version follows from "meta", never from "v")',
      line: metaLine.replace('{"v":1,', '{"v":2,'),
      message: /"v" is the line format version, 1 on every line/,
    },
    {
      desc: 'a checkpoint line with its members reordered',
      line: JSON.stringify({ v: 1, kind: 'checkpoint', note: NOTE, stream: 'opa' }),
      message: /canonical form/,
    },
  ];
  it('parses the lines those cases are made from', () => {
    assert.equal(parseObject(object(entry, metaLine, checkpointJson)).entries.length, 2);
  });
  for (const c of notOneReading) {
    it(`parseObject rejects ${c.desc}: ENTRY_MALFORMED`, () => {
      const bytes = c.line.includes('"checkpoint"') ? object(entry, c.line) : object(c.line, checkpointJson);
      type Coded = { code?: string; message: string };
      const refused = (e: Coded) => e.code === 'ENTRY_MALFORMED' && c.message.test(e.message);
      assert.throws(() => parseObject(bytes), refused);
    });
  }
  it('parseObject rejects bytes that are not UTF-8 (replaced on decoding, they would be a second spelling)', () => {
    const [head, tail] = entry.split('"payload":"p"') as [string, string];
    const bytes = Buffer.concat([Buffer.from(`${head}"payload":"`), Buffer.of(0xff), Buffer.from(`"${tail}\n`)]);
    const refused = (e: { code?: string; message: string }) =>
      e.code === 'ENTRY_MALFORMED' && /line 1: not valid UTF-8/.test(e.message);
    assert.throws(() => parseObject(Buffer.concat([bytes, Buffer.from(checkpointJson + '\n')])), refused);
  });
  it('reads a metadata line with "v":1 (as every trail has it) as envelope version 2: the vector\'s leaf', () => {
    const c = V.envelopes.cases.find((x) => x.fields.meta)!;
    assert.match(c.entry_line, /^\{"v":1,.*"meta":\{/);
    const [e] = parseObject(Buffer.from(c.entry_line + checkpointJson + '\n')).entries;
    assert.equal(encodeEnvelope(e!.envelope)[0], 2);
    assert.equal(toHex(envelopeLeafHash(e!.envelope)), c.leaf_hash_hex);
  });
});

describe('envelope encoding limits', () => {
  const bad: { desc: string; env: Envelope }[] = [
    { desc: 'a negative seq', env: sample({ seq: -1 }) },
    { desc: 'a seq above 2^53 - 1', env: sample({ seq: 2 ** 53 }) },
    { desc: 'a non-integer offset', env: sample({ offset: 1.5 }) },
    { desc: 'a NaN sealed_at', env: sample({ sealedAt: Number.NaN }) },
    { desc: 'an empty stream', env: sample({ stream: '' }) },
    { desc: 'a stream of 65536 bytes', env: sample({ stream: 'x'.repeat(65_536) }) },
    { desc: 'a source of 65536 bytes', env: sample({ source: '\u00e9'.repeat(32_768) }) },
  ];
  for (const c of bad) {
    it(`encodeEnvelope rejects ${c.desc}: ENTRY_MALFORMED`, () =>
      assert.throws(() => encodeEnvelope(c.env), code('ENTRY_MALFORMED')));
  }
  it('accepts the largest safe integers and 65535-byte names', () => {
    const env = sample({ seq: Number.MAX_SAFE_INTEGER, offset: Number.MAX_SAFE_INTEGER, stream: 's'.repeat(65_535) });
    const bytes = encodeEnvelope(env);
    assert.equal(bytes.length, 2 + 2 + 65_535 + 8 + 8 + 2 + utf8(env.source).length + 8 + 4 + env.payload.length);
    assert.equal(toHex(bytes.subarray(4 + 65_535, 4 + 65_535 + 8)), '001fffffffffffff');
  });
});

describe('checkpoint extension line', () => {
  it('formats and parses symmetrically', () => {
    for (const [head, time] of [
      [CHAIN_START, 0],
      [CHAIN, 1_764_400_000_250],
      [new Uint8Array(32).fill(0xff), Number.MAX_SAFE_INTEGER],
    ] as const) {
      const line = formatExtension(head, time);
      assert.match(line, /^tailseal\/v1 chain=[A-Za-z0-9+/]{43}= time=\d+$/);
      const parsed = parseExtension(['some-other-extension', line]);
      assert.ok(parsed);
      assert.equal(toHex(parsed.chainHead), toHex(head));
      assert.equal(parsed.time, time);
      assert.equal(formatExtension(parsed.chainHead, parsed.time), line);
    }
  });
  const good = formatExtension(CHAIN, 1000);
  const notExtensions: { desc: string; line: string }[] = [
    { desc: 'no lines at all', line: '' },
    { desc: 'another prefix', line: good.replace('tailseal/v1', 'tailseal/v2') },
    { desc: 'a time with a leading zero', line: good.replace('time=1000', 'time=01000') },
    { desc: 'a negative time', line: good.replace('time=1000', 'time=-1000') },
    { desc: 'a time above 2^53 - 1', line: good.replace('time=1000', 'time=9007199254740992') },
    { desc: 'a chain head of 31 bytes', line: `tailseal/v1 chain=${Buffer.alloc(31).toString('base64')} time=1` },
    { desc: 'a trailing space', line: `${good} ` },
  ];
  for (const c of notExtensions) {
    it(`parseExtension finds none in ${c.desc}`, () =>
      assert.equal(parseExtension(c.line === '' ? [] : [c.line]), null));
  }
  it('rejects a chain head in non-canonical base64 (ENTRY_MALFORMED)', () => {
    // 32 bytes encode as 43 characters and one "="; the last character carries 2 unused bits that
    // must be zero, and "B" sets one of them.
    const line = `tailseal/v1 chain=${Buffer.alloc(32).toString('base64').slice(0, 42)}B= time=1`;
    assert.throws(() => parseExtension([line]), code('ENTRY_MALFORMED'));
  });
});

describe('committed vectors', () => {
  it('match what generate.ts computes (node dist/test/vectors/generate.js --check)', () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'test', 'vectors', 'generate.js'), '--check'], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `generate.js --check failed:\n${r.stderr}`);
    assert.equal(r.stdout, '', 'check mode writes nothing');
  });
});
