// verifyTrail over real store directories: an intact trail passes, and each kind of tampering is
// reported with its own code and where it is (stream, seq, object). One case per defect.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { signCheckpoint } from '../../../src/trail/checkpoint.js';
import { envelopeLeafHash, nextChain } from '../../../src/trail/envelope.js';
import { fromBase64Strict } from '../../../src/trail/hash.js';
import { parseVerifierKey } from '../../../src/trail/keys.js';
import { signNote } from '../../../src/trail/note.js';
import { encodeEntryLine } from '../../../src/seal/encoder.js';
import { parseObject } from '../../../src/seal/gzip.js';
import { formatExtension } from '../../../src/trail/object.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { type VerifyOptions, verifyTrail } from '../../../src/trail/verify-trail.js';
import { VECTORS_DIR } from '../../helpers/paths.js';
import {
  type BuiltTrail,
  type RecordSpec,
  type TestKey,
  type TrailSpec,
  STEP_MS,
  buildTrail,
  decisionLine,
  editObject,
  noteText,
  objectPath,
  readObjectLines,
  removeObject,
  tempDir,
  testKey,
} from '../../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

// 9 records, seq 4 a gap record, in objects of 3, 2 and 4 entries:
//   names[0] = seq 0..2, names[1] = seq 3..4, names[2] = seq 5..8.
const RECORDS: RecordSpec[] = [0, 1, 2, 3, { gap: 2_000_000 }, 5, 6, 7, 8].map((r) =>
  typeof r === 'number' ? decisionLine(r, r === 1 ? '-zo\u00eb-\u{1F512}' : '') : r,
);
const PLAN = [3, 2, 4];

function fresh(spec: Partial<TrailSpec> = {}): BuiltTrail {
  const t = buildTrail({ records: RECORDS, plan: PLAN, ...spec });
  cleanups.push(t.cleanup);
  return t;
}

function verify(t: BuiltTrail, opts: Partial<VerifyOptions> = {}) {
  return verifyTrail(fileStoreReader(t.dir), { verifiers: [t.key.verifier], ...opts });
}

/** Asserts that `p` rejects with TailsealError `code` whose details include `details`. */
async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  details: Record<string, unknown> = {},
  message?: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: Error & { code?: string; details?: Record<string, unknown> }) => {
    assert.equal(err.name, 'TailsealError', err.stack);
    assert.equal(err.code, code, err.message);
    for (const [k, v] of Object.entries(details))
      assert.deepEqual(err.details?.[k], v, `details.${k} of: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

// ---- tampering primitives (on the lines of one object) ----

/** Changes one byte of an entry's payload ("Decision Log" -> "Decision Lag"), keeping the line valid JSON. */
function alterPayloadLine(line: string): string {
  const o = JSON.parse(line) as { payload: string };
  assert.ok(o.payload.includes('Decision Log'));
  o.payload = o.payload.replace('Decision Log', 'Decision Lag');
  const out = JSON.stringify(o);
  assert.equal(Buffer.byteLength(out), Buffer.byteLength(line));
  assert.equal(
    [...Buffer.from(out)].filter((b, i) => b !== Buffer.from(line)[i]).length,
    1,
    'exactly one byte differs',
  );
  return out;
}

/**
 * Alters entry line `index` (not the first of its object) like alterPayloadLine, then recomputes
 * the "chain" fields of lines index..last so that every per-line chain check up to `last` passes.
 */
function alterAndRechain(lines: string[], index: number, last = index): string[] {
  const entries = parseObject(Buffer.from(lines.map((l) => `${l}\n`).join(''))).entries;
  let chain = entries[index - 1]!.chain;
  const out = [...lines];
  out[index] = alterPayloadLine(out[index]!);
  const altered = parseObject(Buffer.from(out.map((l) => `${l}\n`).join(''))).entries;
  for (let i = index; i <= last; i++) {
    const env = altered[i]!.envelope;
    chain = nextChain(chain, envelopeLeafHash(env));
    out[i] = encodeEntryLine(env, chain).toString('utf8').slice(0, -1);
  }
  return out;
}

/** A well-formed entry line for `seq` that continues the chain after the entry line `previous`. */
function forgedEntryAfter(previous: string, seq: number): string {
  const { entries } = parseObject(Buffer.from(`${previous}\n`));
  const prev = entries[0]!;
  const env = { ...prev.envelope, seq, offset: prev.envelope.offset + 1000, payload: Buffer.from(decisionLine(999)) };
  return encodeEntryLine(env, nextChain(prev.chain, envelopeLeafHash(env)))
    .toString('utf8')
    .slice(0, -1);
}

/** Rewrites the note of the checkpoint line (the last line). */
function editNote(lines: string[], edit: (note: string) => string): string[] {
  const cp = JSON.parse(lines[lines.length - 1]!) as { note: string };
  cp.note = edit(cp.note);
  return [...lines.slice(0, -1), JSON.stringify(cp)];
}

/** Changes one base64 character in the middle of the (last) signature, past its key ID. */
function corruptSignature(note: string): string {
  const sigStart = note.lastIndexOf(' ') + 1;
  const i = sigStart + 30;
  return note.slice(0, i) + (note[i] === 'A' ? 'B' : 'A') + note.slice(i + 1);
}

const unknownKey: TestKey = testKey('tailseal.test/trail', 0x77);

interface TamperCase {
  desc: string;
  spec?: Partial<TrailSpec>;
  tamper: (t: BuiltTrail) => void;
  opts?: (t: BuiltTrail) => Partial<VerifyOptions>;
  code: string;
  details: (t: BuiltTrail) => Record<string, unknown>;
  message?: RegExp;
}

const n = (t: BuiltTrail, i: number) => t.objectNames[i]!;

const CASES: TamperCase[] = [
  {
    desc: 'one byte of an entry payload changed (the line is still valid JSON)',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => l.map((x, i) => (i === 1 ? alterPayloadLine(x) : x))),
    code: 'ENTRY_ALTERED',
    details: (t) => ({ stream: 'opa', seq: 1, object: n(t, 0) }),
  },
  {
    desc: 'one byte changed in a gap record (its stated length)',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => l.map((x, i) => (i === 1 ? x.replace('2000000', '2000001') : x))),
    code: 'ENTRY_ALTERED',
    details: (t) => ({ stream: 'opa', seq: 4, object: n(t, 1) }),
  },
  {
    desc: 'an entry altered and its own "chain" recomputed: caught at the next entry',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => alterAndRechain(l, 1)),
    code: 'ENTRY_ALTERED',
    details: (t) => ({ stream: 'opa', seq: 2, object: n(t, 0) }),
  },
  {
    desc: 'the last entry of an object altered and its "chain" recomputed: caught at the checkpoint',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => alterAndRechain(l, 2)),
    code: 'ENTRY_ALTERED',
    details: (t) => ({ stream: 'opa', seq: 3, object: n(t, 0) }),
    message: /do not match the signed checkpoint/,
  },
  {
    desc: 'an entry altered and every later "chain" of its object recomputed: caught at the checkpoint',
    tamper: (t) => editObject(t.dir, n(t, 2), (l) => alterAndRechain(l, 1, 3)),
    code: 'ENTRY_ALTERED',
    details: (t) => ({ stream: 'opa', seq: 9, object: n(t, 2) }),
  },
  {
    desc: 'an entry line deleted in the middle of an object',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => l.filter((_, i) => i !== 1)),
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 1, object: n(t, 0) }),
  },
  {
    desc: 'the first entry line of an object deleted',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => l.slice(1)),
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 3, object: n(t, 1) }),
  },
  {
    desc: 'the last entry line of an object deleted (before its checkpoint line)',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => l.filter((_, i) => i !== 2)),
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 2, object: n(t, 0) }),
    message: /signed for 3 entries/,
  },
  {
    desc: 'two adjacent entry lines swapped',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => [l[1]!, l[0]!, ...l.slice(2)]),
    code: 'ENTRY_REORDERED',
    details: (t) => ({ stream: 'opa', seq: 3, object: n(t, 1) }),
  },
  {
    desc: 'an entry line duplicated',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => [l[0]!, l[1]!, l[1]!, ...l.slice(2)]),
    code: 'ENTRY_INSERTED',
    details: (t) => ({ stream: 'opa', seq: 1, object: n(t, 0) }),
  },
  {
    desc: 'a forged entry with the next seq (and a correct "chain") appended after the last entry of an object',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => [...l.slice(0, 3), forgedEntryAfter(l[2]!, 3), l[3]!]),
    code: 'ENTRY_INSERTED',
    details: (t) => ({ stream: 'opa', seq: 3, object: n(t, 0) }),
    message: /beyond its signed size 3/,
  },
  {
    desc: 'an entry of another stream inserted',
    tamper: (t) =>
      editObject(t.dir, n(t, 0), (l) => [l[0]!, l[1]!.replace('"stream":"opa"', '"stream":"opb"'), ...l.slice(2)]),
    code: 'ENTRY_INSERTED',
    details: (t) => ({ stream: 'opa', seq: 1, object: n(t, 0) }),
  },
  {
    desc:
      'the last entry of an object moved to the start of the next object (only reordering inside one object is ' +
      'named as such)',
    tamper: (t) => {
      const moved = readObjectLines(t.dir, n(t, 0))[2]!;
      editObject(t.dir, n(t, 0), (l) => l.filter((_, i) => i !== 2));
      editObject(t.dir, n(t, 1), (l) => [moved, ...l]);
    },
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 2, object: n(t, 0) }),
  },
  {
    desc: 'an entry whose offset is not a u64 (negative)',
    tamper: (t) =>
      editObject(t.dir, n(t, 0), (l) => l.map((x, i) => (i === 1 ? x.replace(/"offset":\d+/, '"offset":-1') : x))),
    code: 'ENTRY_MALFORMED',
    details: (t) => ({ object: n(t, 0) }),
    message: /line 2: field "offset" must be an integer from 0 to 2\^53-1/,
  },
  {
    desc: 'a whole middle object deleted',
    tamper: (t) => removeObject(t.dir, n(t, 1)),
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 3, object: n(t, 2) }),
    message: /seq 3\.\.4 missing/,
  },
  {
    desc: 'the first object deleted',
    tamper: (t) => removeObject(t.dir, n(t, 0)),
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 0, object: n(t, 1) }),
    message: /seq 0\.\.2 missing/,
  },
  {
    desc: 'the checkpoint line of an object replaced by the (validly signed) one of a later object',
    tamper: (t) => {
      const later = readObjectLines(t.dir, n(t, 2));
      editObject(t.dir, n(t, 1), (l) => [...l.slice(0, -1), later[later.length - 1]!]);
    },
    code: 'ENTRY_MISSING',
    details: (t) => ({ stream: 'opa', seq: 5, object: n(t, 1) }),
  },
  {
    desc: 'the last object deleted, verified with the real newest checkpoint as --latest',
    tamper: (t) => removeObject(t.dir, n(t, 2)),
    opts: (t) => ({ latest: [t.latestNote] }),
    code: 'TAIL_TRUNCATED',
    details: () => ({ stream: 'opa', seq: 5 }),
    message: /seq 5\.\.8 missing/,
  },
  {
    desc: 'the newest checkpoint older than maxAgeMs',
    tamper: () => undefined,
    opts: (t) => ({ maxAgeMs: 5 * 60_000, now: t.newestTime + 10 * 60_000 }),
    code: 'TAIL_TRUNCATED',
    details: () => ({ stream: 'opa', seq: 9 }),
  },
  {
    desc: 'the trailing heartbeat deleted, caught by maxAgeMs only',
    spec: { plan: [3, 2, 4, 'heartbeat'] },
    tamper: (t) => removeObject(t.dir, n(t, 3)),
    opts: (t) => ({ latest: [t.latestNote], maxAgeMs: STEP_MS, now: t.newestTime + STEP_MS / 2 }),
    code: 'TAIL_TRUNCATED',
    details: () => ({ stream: 'opa', seq: 9 }),
  },
  {
    desc: 'a --latest checkpoint with a different root at a size the store holds (a fork)',
    tamper: () => undefined,
    opts: (t) => ({
      latest: [
        signCheckpoint(
          {
            origin: 'tailseal.test/trail/opa',
            size: 9,
            rootHash: new Uint8Array(32).fill(9),
            extensions: [formatExtension(new Uint8Array(32), t.newestTime)],
          },
          t.key.signer,
        ),
      ],
    }),
    code: 'ENTRY_ALTERED',
    details: () => ({ stream: 'opa', seq: 9 }),
    message: /forked/,
  },
  {
    desc: 'a --latest checkpoint with a different root at a size inside an object (a fork between object boundaries)',
    tamper: () => undefined,
    opts: (t) => ({
      latest: [
        signCheckpoint(
          {
            origin: 'tailseal.test/trail/opa',
            size: 7,
            rootHash: new Uint8Array(32).fill(7),
            extensions: [formatExtension(new Uint8Array(32), t.newestTime)],
          },
          t.key.signer,
        ),
      ],
    }),
    code: 'ENTRY_ALTERED',
    details: () => ({ stream: 'opa', seq: 7 }),
    message: /forked/,
  },
  {
    desc: 'a --latest checkpoint of a stream the store does not hold',
    tamper: () => undefined,
    opts: (t) => ({
      latest: [
        signCheckpoint(
          { origin: 'tailseal.test/trail/audit', size: 2, rootHash: new Uint8Array(32), extensions: [] },
          t.key.signer,
        ),
      ],
    }),
    code: 'TAIL_TRUNCATED',
    details: () => ({ stream: 'audit', seq: 0 }),
  },
  {
    desc: 'an object cut in the middle of an entry line',
    tamper: (t) =>
      truncateSync(objectPath(t.dir, n(t, 1)), Buffer.byteLength(readObjectLines(t.dir, n(t, 1))[0]!) + 40),
    code: 'ENTRY_MALFORMED',
    details: (t) => ({ object: n(t, 1) }),
    message: /does not end with a newline/,
  },
  {
    desc: 'an object cut in the middle of its checkpoint line',
    tamper: (t) => {
      const p = objectPath(t.dir, n(t, 1));
      truncateSync(p, readFileSync(p).length - 30);
    },
    code: 'ENTRY_MALFORMED',
    details: (t) => ({ object: n(t, 1) }),
  },
  {
    desc: 'the checkpoint line of an object dropped (cut at a line boundary)',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => l.slice(0, -1)),
    code: 'TAIL_TRUNCATED',
    details: (t) => ({ object: n(t, 1), seq: 4 }),
    message: /no checkpoint line/,
  },
  {
    desc: 'an object emptied to 0 bytes',
    tamper: (t) => truncateSync(objectPath(t.dir, n(t, 2)), 0),
    code: 'TAIL_TRUNCATED',
    details: (t) => ({ object: n(t, 2) }),
  },
  {
    desc: 'one character of a checkpoint signature changed',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => editNote(l, corruptSignature)),
    code: 'SIGNATURE_INVALID',
    details: (t) => ({ object: n(t, 1) }),
  },
  {
    desc: 'a checkpoint re-signed with an unknown key only (same key name)',
    tamper: (t) =>
      editObject(t.dir, n(t, 1), (l) => editNote(l, (note) => signNote(noteText(note), [unknownKey.signer]))),
    code: 'NO_TRUSTED_SIGNATURE',
    details: (t) => ({ object: n(t, 1) }),
  },
  {
    desc: 'the signed root in a checkpoint note changed (the signature no longer matches)',
    tamper: (t) =>
      editObject(t.dir, n(t, 1), (l) =>
        editNote(l, (note) => {
          const lines = note.split('\n');
          lines[2] = Buffer.alloc(32, 1).toString('base64');
          return lines.join('\n');
        }),
      ),
    code: 'SIGNATURE_INVALID',
    details: (t) => ({ object: n(t, 1) }),
  },
  {
    desc: 'the signed size in a checkpoint note changed',
    tamper: (t) => editObject(t.dir, n(t, 0), (l) => editNote(l, (note) => note.replace(/\n3\n/, '\n2\n'))),
    code: 'SIGNATURE_INVALID',
    details: (t) => ({ object: n(t, 0) }),
  },
  {
    desc: 'a checkpoint validly signed by the trusted key but without the tailseal/v1 extension line',
    tamper: (t) =>
      editObject(t.dir, n(t, 1), (l) =>
        editNote(l, (note) => {
          const [origin, size, root] = noteText(note).split('\n');
          return signCheckpoint(
            { origin: origin!, size: Number(size), rootHash: fromBase64Strict(root!, 'root'), extensions: [] },
            t.key.signer,
          );
        }),
      ),
    code: 'CHECKPOINT_MALFORMED',
    details: (t) => ({ object: n(t, 1) }),
  },
  {
    desc: 'an extra member ("x":0) added to an entry line, outside the leaf hash',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => l.map((x, i) => (i === 0 ? x.replace(/\}$/, ',"x":0}') : x))),
    code: 'ENTRY_MALFORMED',
    details: (t) => ({ object: n(t, 1) }),
    message: /line 1: unknown member "x"/,
  },
  {
    desc: 'the (unsigned) stream of a checkpoint line changed',
    tamper: (t) => editObject(t.dir, n(t, 1), (l) => [...l.slice(0, -1), l.at(-1)!.replace('"opa"', '"x"')]),
    code: 'ENTRY_MALFORMED',
    details: (t) => ({ object: n(t, 1) }),
    message: /checkpoint line says stream "x" but its signed origin is tailseal\.test\/trail\/opa/,
  },
  {
    desc: 'a checkpoint validly signed by the trusted key with two tailseal/v1 extension lines',
    tamper: (t) =>
      editObject(t.dir, n(t, 1), (l) =>
        editNote(l, (note) => {
          const [origin, size, root, ext] = noteText(note).split('\n');
          const other = formatExtension(new Uint8Array(32), 1);
          const rootHash = fromBase64Strict(root!, 'root');
          const extensions = [ext!, other];
          return signCheckpoint({ origin: origin!, size: Number(size), rootHash, extensions }, t.key.signer);
        }),
      ),
    code: 'CHECKPOINT_MALFORMED',
    details: (t) => ({ object: n(t, 1) }),
    message: /2 tailseal\/v1 extension lines/,
  },
  {
    desc: 'a tampered gzip object (payload byte changed, re-compressed)',
    spec: { gzip: true },
    tamper: (t) => editObject(t.dir, n(t, 2), (l) => l.map((x, i) => (i === 3 ? alterPayloadLine(x) : x))),
    code: 'ENTRY_ALTERED',
    details: (t) => ({ stream: 'opa', seq: 8, object: n(t, 2) }),
  },
];

describe('verifyTrail on an intact store', () => {
  it('passes and reports entries, gap records, objects and signers', async () => {
    const t = fresh();
    const reports = await verify(t, { latest: [t.latestNote], maxAgeMs: 60_000, now: t.newestTime + 1 });
    assert.equal(reports.length, 1);
    const r = reports[0]!;
    assert.equal(r.stream, 'opa');
    assert.equal(r.origin, 'tailseal.test/trail/opa');
    assert.equal(r.entries, 9);
    assert.equal(r.objects, 3);
    assert.deepEqual(r.gaps, [
      {
        seq: 4,
        source: '/var/log/opa/decisions.log',
        offset: r.gaps[0]!.offset,
        detail: { reason: 'line_too_long', length: 2_000_000 },
      },
    ]);
    assert.equal(r.newestCheckpointTime, t.newestTime);
    assert.deepEqual(r.signedBy, ['tailseal.test/trail']);
    const root = fromBase64Strict(noteText(t.latestNote).split('\n')[2]!, 'root');
    assert.equal(r.rootHash, Buffer.from(root).toString('hex'));
  });
  it('counts heartbeat objects and orders them after the data object of the same size', async () => {
    const t = fresh({ plan: [3, 'heartbeat', 2, 4, 'heartbeat', 'heartbeat'] });
    assert.ok(t.objectNames.filter((x) => x.includes('/heartbeat-')).length === 3);
    const [r] = await verify(t, { latest: [t.latestNote], maxAgeMs: 1, now: t.newestTime });
    assert.equal(r!.entries, 9);
    assert.equal(r!.objects, 6);
    assert.equal(r!.newestCheckpointTime, t.newestTime);
  });
  it('passes when a heartbeat in the middle is deleted (no entry is lost)', async () => {
    const t = fresh({ plan: [3, 'heartbeat', 2, 4] });
    removeObject(t.dir, n(t, 1));
    const [r] = await verify(t, { latest: [t.latestNote] });
    assert.equal(r!.objects, 3);
  });
  it('passes with maxAgeMs equal to the age of the newest checkpoint', async () => {
    const t = fresh();
    await verify(t, { maxAgeMs: 1000, now: t.newestTime + 1000 });
  });
  it('ignores dot files (interrupted writes) and files that are not objects', async () => {
    const t = fresh();
    writeFileSync(join(t.dir, 'opa', '.tmp-1234-abcdef'), 'partial');
    writeFileSync(join(t.dir, 'README.txt'), 'not an object');
    const [r] = await verify(t);
    assert.equal(r!.objects, 3);
  });
  it('verifies gzip objects exactly like plain ones', async () => {
    const plain = fresh();
    const gz = fresh({ gzip: true });
    assert.ok(gz.objectNames.every((x) => x.endsWith('.ndjson.gz')));
    assert.deepEqual([...readFileSync(objectPath(gz.dir, n(gz, 0))).subarray(0, 2)], [0x1f, 0x8b]);
    // Everything but the objects' names (which end in .gz) is the same.
    const unnamed = (rs: Awaited<ReturnType<typeof verify>>) =>
      rs.map(({ objectNames: _, resume: { digests, ...resume }, ...r }) => ({
        ...r,
        resume,
        digests: [...digests.keys()],
      }));
    assert.deepEqual(
      unnamed(await verify(gz, { latest: [gz.latestNote] })),
      unnamed(await verify(plain, { latest: [plain.latestNote] })),
    );
  });
  it('verifies the committed trail vector (test/vectors/trail.json)', async () => {
    const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'trail.json'), 'utf8')) as {
      trail: {
        verifierKey: string;
        objects: { name: string; body: string; checkpoint: { note: string; time: number } }[];
        expect: { entries: number; objects: number; root_hex: string; newest_checkpoint_time: number; gaps: unknown[] };
      };
    };
    const objects = new Map(V.trail.objects.map((o) => [o.name, Buffer.from(o.body, 'utf8')]));
    const last = V.trail.objects[V.trail.objects.length - 1]!;
    const reader = { list: async () => [...objects.keys()].sort(), read: async (name: string) => objects.get(name)! };
    const [r] = await verifyTrail(reader, {
      verifiers: [parseVerifierKey(V.trail.verifierKey)],
      latest: [last.checkpoint.note],
      maxAgeMs: 0,
      now: last.checkpoint.time,
    });
    const e = V.trail.expect;
    assert.deepEqual(
      [r!.entries, r!.objects, r!.rootHash, r!.newestCheckpointTime, r!.gaps],
      [e.entries, e.objects, e.root_hex, e.newest_checkpoint_time, e.gaps],
    );
  });
});

describe('verifyTrail reports the first break', () => {
  for (const c of CASES) {
    it(`${c.desc}: ${c.code}`, async () => {
      const t = fresh(c.spec);
      await verify(t); // intact before tampering
      c.tamper(t);
      await rejectsWith(verify(t, c.opts?.(t)), c.code, c.details(t), c.message);
    });
  }

  it('the same object stored twice (plain and gzip) counts once and is reported as a duplicate', async () => {
    const t = fresh();
    const plain = join(t.dir, ...n(t, 1).split('/'));
    writeFileSync(plain + '.gz', gzipSync(readFileSync(plain)));
    const [r] = await verify(t, { latest: [t.latestNote] });
    assert.equal(r!.entries, 9);
    assert.equal(r!.objects, 3);
    assert.deepEqual(r!.duplicates, [{ object: `${n(t, 1)}.gz`, sameAs: n(t, 1) }]);
  });
  it('a copy under a name sinks do not give is the duplicate, wherever the store lists it', async () => {
    const t = fresh();
    for (const copy of ['0-copy.ndjson', `opa/${n(t, 2).slice(4).replace('-', '-x-')}`]) {
      writeFileSync(join(t.dir, copy), readFileSync(objectPath(t.dir, n(t, 2))));
      const [r] = await verify(t, { latest: [t.latestNote] });
      assert.deepEqual([r!.entries, r!.objects, r!.objectNames[2]], [9, 3, n(t, 2)]);
      assert.deepEqual(r!.duplicates, [{ object: copy, sameAs: n(t, 2) }]);
      rmSync(join(t.dir, copy));
    }
  });

  it('a deleted last object passes without latest or maxAgeMs: only they detect a cut tail', async () => {
    const t = fresh();
    removeObject(t.dir, n(t, 2));
    const [r] = await verify(t);
    assert.equal(r!.entries, 5);
    assert.equal(r!.objects, 2);
    await rejectsWith(verify(t, { latest: [t.latestNote] }), 'TAIL_TRUNCATED', { seq: 5 });
  });
});

describe('verifyTrail with several keys', () => {
  const A = testKey('tailseal.test/key-a', 0x0a);
  const B = testKey('tailseal.test/key-b', 0x0b);
  const X = testKey('witness.example/x', 0x0c);

  it('key rotation: objects 1-2 signed by A and object 3 by B pass with [A, B]', async () => {
    const t = fresh({ key: A, signersFor: (i) => [i < 2 ? A.signer : B.signer] });
    const [r] = await verify(t, { verifiers: [A.verifier, B.verifier], latest: [t.latestNote] });
    assert.equal(r!.entries, 9);
    assert.deepEqual(r!.signedBy, ['tailseal.test/key-a', 'tailseal.test/key-b']);
  });
  it('key rotation: the same store with only [A] fails at object 3: NO_TRUSTED_SIGNATURE', async () => {
    const t = fresh({ key: A, signersFor: (i) => [i < 2 ? A.signer : B.signer] });
    await rejectsWith(verify(t, { verifiers: [A.verifier] }), 'NO_TRUSTED_SIGNATURE', { object: n(t, 2) });
  });
  it('key rotation: the same store with only [B] fails at object 1: NO_TRUSTED_SIGNATURE', async () => {
    const t = fresh({ key: A, signersFor: (i) => [i < 2 ? A.signer : B.signer] });
    await rejectsWith(verify(t, { verifiers: [B.verifier] }), 'NO_TRUSTED_SIGNATURE', { object: n(t, 0) });
  });
  it('notes signed by A and an unknown key pass with [A] (either signature order)', async () => {
    const t = fresh({ key: A, signersFor: (i) => (i % 2 === 0 ? [A.signer, X.signer] : [X.signer, A.signer]) });
    assert.equal(t.latestNote.split('\u2014 ').length, 3, 'two signature lines');
    const [r] = await verify(t, { verifiers: [A.verifier], latest: [t.latestNote] });
    assert.equal(r!.entries, 9);
    assert.deepEqual(r!.signedBy, ['tailseal.test/key-a']);
  });
  it('a note signed by A and X with a bad X signature fails when X is trusted too: SIGNATURE_INVALID', async () => {
    const t = fresh({ key: A, signersFor: () => [A.signer, X.signer] });
    editObject(t.dir, n(t, 0), (l) => editNote(l, corruptSignature));
    await verify(t, { verifiers: [A.verifier] });
    await rejectsWith(verify(t, { verifiers: [A.verifier, X.verifier] }), 'SIGNATURE_INVALID', { object: n(t, 0) });
  });
});

describe('verifyTrail on an empty or missing store', () => {
  it('an empty directory: STORE_EMPTY', async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await rejectsWith(verifyTrail(fileStoreReader(dir), { verifiers: [testKey().verifier] }), 'STORE_EMPTY');
  });
  it('a directory with only temporary files and empty stream folders: STORE_EMPTY', async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'opa'));
    writeFileSync(join(dir, 'opa', '.tmp-1-000000'), 'x');
    await rejectsWith(verifyTrail(fileStoreReader(dir), { verifiers: [testKey().verifier] }), 'STORE_EMPTY');
  });
  it('a directory that does not exist: USAGE', async () => {
    const parent = tempDir();
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const dir = join(parent, 'missing');
    await rejectsWith(verifyTrail(fileStoreReader(dir), { verifiers: [testKey().verifier] }), 'USAGE');
  });
});

describe('verifyTrail incrementally (the audit between full passes)', () => {
  /** The store as it was when only its first `k` objects existed. */
  const firstObjects = (t: BuiltTrail, k: number) => {
    const r = fileStoreReader(t.dir);
    return { ...r, list: async () => (await r.list()).filter((x) => t.objectNames.slice(0, k).includes(x)) };
  };
  const keys = (t: BuiltTrail) => [t.key.verifier];
  async function earlierPass(t: BuiltTrail, k: number) {
    const [r] = await verifyTrail(firstObjects(t, k), { verifiers: keys(t) });
    return { skip: new Set(r!.objectNames), from: new Map([[r!.origin, r!.resume]]) };
  }

  it('reads only the new objects and continues the earlier state: same result as a full pass', async () => {
    const t = fresh();
    const incremental = await earlierPass(t, 2);
    let read = 0;
    const r0 = fileStoreReader(t.dir);
    const counting = { ...r0, read: (name: string, max: number) => (read++, r0.read(name, max)) };
    const [r] = await verifyTrail(counting, { verifiers: keys(t), incremental });
    const [full] = await verifyTrail(fileStoreReader(t.dir), { verifiers: keys(t) });
    assert.equal(read, 2, 'the one new object, read to inspect and to walk');
    assert.deepEqual(
      [r!.entries, r!.rootHash, r!.newestCheckpointTime],
      [full!.entries, full!.rootHash, full!.newestCheckpointTime],
    );
  });
  it('a new object that was altered fails; one that does not continue the state is ENTRY_MISSING', async () => {
    const t = fresh();
    const after1 = await earlierPass(t, 1);
    editObject(t.dir, n(t, 2), (l) => l.map((x, i) => (i === 3 ? alterPayloadLine(x) : x)));
    await rejectsWith(
      verifyTrail(fileStoreReader(t.dir), { verifiers: keys(t), incremental: after1 }),
      'ENTRY_ALTERED',
    );
    const u = fresh();
    const state = await earlierPass(u, 1);
    removeObject(u.dir, n(u, 1));
    await rejectsWith(verifyTrail(fileStoreReader(u.dir), { verifiers: keys(u), incremental: state }), 'ENTRY_MISSING');
  });
  it('a copy of an object verified before is a duplicate in the next pass, as in a full one', async () => {
    const t = fresh();
    const state = await earlierPass(t, 3);
    mkdirSync(join(t.dir, 'audit'));
    writeFileSync(join(t.dir, 'audit', 'copy.ndjson'), readFileSync(objectPath(t.dir, n(t, 0))));
    const [quick] = await verifyTrail(fileStoreReader(t.dir), { verifiers: keys(t), incremental: state });
    const [full] = await verifyTrail(fileStoreReader(t.dir), { verifiers: keys(t) });
    for (const r of [quick!, full!]) {
      assert.equal(r.entries, 9);
      assert.deepEqual(r.duplicates, [{ object: 'audit/copy.ndjson', sameAs: n(t, 0) }]);
    }
  });
  it('an object verified before and changed since is caught only by a full pass (why the audit has both)', async () => {
    const t = fresh();
    const state = await earlierPass(t, 3);
    editObject(t.dir, n(t, 0), (l) => l.map((x, i) => (i === 1 ? alterPayloadLine(x) : x)));
    const [quick] = await verifyTrail(fileStoreReader(t.dir), { verifiers: keys(t), incremental: state });
    assert.equal(quick!.entries, 9);
    await rejectsWith(verifyTrail(fileStoreReader(t.dir), { verifiers: keys(t) }), 'ENTRY_ALTERED');
  });
});
