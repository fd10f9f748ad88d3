// The daemon's hot-path line encoder (seal/encoder.ts, Buffer-based) and the trail's own plain
// encoder (trail/object.ts) write the same bytes: on the committed vectors, and on payloads
// that take each escaping path (control characters, quotes, multibyte UTF-8, invalid UTF-8,
// a byte order mark) and metadata keys whose byte order differs from JS string order.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  LineBatch,
  encodeCheckpointLine as encodeCheckpointLineFast,
  encodeEntryLine as encodeEntryLineFast,
} from '../../../src/seal/encoder.js';
import { type Envelope, CHAIN_START } from '../../../src/trail/envelope.js';
import { fromHex } from '../../../src/trail/hash.js';
import { encodeCheckpointLine, encodeEntryLine } from '../../../src/trail/object.js';
import { VECTORS_DIR } from '../../helpers/paths.js';
import type { EnvelopeFields } from '../../vectors/generate.js';

interface Vectors {
  envelopes: { cases: { fields: EnvelopeFields; chain_hex: string; entry_line: string }[] };
  trail: { objects: { body: string }[] };
}
const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'trail.json'), 'utf8')) as Vectors;

const envelope = (over: Partial<Envelope> = {}): Envelope => ({
  kind: 'decision',
  stream: 'opa',
  seq: 7,
  sealedAt: 1_764_400_000_000,
  source: '/var/log/opa/opa.log',
  offset: 4096,
  payload: Buffer.from('{"decision_id":"x"}'),
  ...over,
});

const payloads: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['control characters and escapes', Buffer.from('a\r\u0000\tb"\\\b\f\n\u001f\u007f')],
  ['multibyte UTF-8', Buffer.from('{"u":"\u00fc\u20ac\ud83d\ude00"}')],
  ['invalid UTF-8', Uint8Array.of(0x7b, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x7d)],
  ['a byte order mark', Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d)],
  ['a literal \\u003c', Buffer.from('{"q":"\\u003c"}')],
];

describe('the trail encoder and the hot-path encoder write the same bytes', () => {
  it('on every envelope vector (trail.json), equal to its entry_line', () => {
    for (const c of V.envelopes.cases) {
      const f = c.fields;
      const e: Envelope = {
        kind: f.kind,
        stream: f.stream,
        seq: f.seq,
        sealedAt: f.sealed_at,
        source: f.source,
        offset: f.offset,
        payload: Buffer.from(f.payload, 'utf8'),
        ...(f.meta ? { meta: f.meta } : {}),
      };
      const chain = fromHex(c.chain_hex);
      const plain = encodeEntryLine(e, chain);
      assert.deepEqual(Buffer.from(plain), encodeEntryLineFast(e, chain));
      assert.equal(Buffer.from(plain).toString('utf8'), c.entry_line);
    }
  });

  for (const [what, payload] of payloads) {
    it(`on a payload with ${what}`, () => {
      const e = envelope({ payload });
      assert.deepEqual(Buffer.from(encodeEntryLine(e, CHAIN_START)), encodeEntryLineFast(e, CHAIN_START));
    });
  }

  it('with metadata sorted by UTF-8 bytes (not JS string order), numbers at their widest, odd names', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const e = envelope({
      stream: 'str"eam\u00e9',
      source: 'C:\\logs\\opa\u2028.log',
      seq: max,
      sealedAt: max,
      offset: 0,
      meta: { '\uff61': 'a', '\ud83d\ude00': 'b', '1': 'digit key', z: '\u0000' },
    });
    assert.deepEqual(Buffer.from(encodeEntryLine(e, CHAIN_START)), encodeEntryLineFast(e, CHAIN_START));
  });

  it('a LineBatch of several entries is their lines back to back', () => {
    const batch = new LineBatch(16);
    const es = payloads.map(([, payload], seq) => envelope({ seq, payload }));
    for (const e of es) batch.pushEntry(e, CHAIN_START);
    assert.deepEqual(Buffer.from(batch.bytes()), Buffer.concat(es.map((e) => encodeEntryLine(e, CHAIN_START))));
  });

  it('a LineBatch whose entries change kind, stream and source writes each with its own (the last parts are reused)', () => {
    const batch = new LineBatch(16);
    const es = [
      envelope({ seq: 1 }),
      envelope({ seq: 2, kind: 'gap' }),
      envelope({ seq: 3, kind: 'gap', stream: 'other' }),
      envelope({ seq: 4, stream: 'other' }),
      envelope({ seq: 5, source: '/var/log/opa/opa.log.1' }),
      envelope({ seq: 6 }),
    ];
    for (const e of es) batch.pushEntry(e, CHAIN_START);
    assert.deepEqual(Buffer.from(batch.bytes()), Buffer.concat(es.map((e) => encodeEntryLine(e, CHAIN_START))));
  });

  it('checkpoint lines, and the vector objects line by line', () => {
    const note = 'origin\n1\nAAAA\n\n\u2014 k abc=\n';
    assert.deepEqual(Buffer.from(encodeCheckpointLine('opa', note)), encodeCheckpointLineFast('opa', note));
    for (const o of V.trail.objects) {
      const last = o.body.slice(0, -1).lastIndexOf('\n') + 1;
      const cp = JSON.parse(o.body.slice(last)) as { stream: string; note: string };
      assert.equal(Buffer.from(encodeCheckpointLine(cp.stream, cp.note)).toString('utf8'), o.body.slice(last));
    }
  });
});
