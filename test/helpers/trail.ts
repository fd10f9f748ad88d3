// Builds real trail stores for tests from the in-process API: records are sealed with
// sealRecords, each batch is signed with signHead, and each object is written with encodeObject
// to `<dir>/<name>` the way the file sink lays it out (mkdir -p, then the bytes). Also small
// helpers that tamper with a stored object line by line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CHAIN_START } from '../../src/trail/envelope.js';
import {
  generateKeyPair,
  parseSignerKey,
  parseVerifierKey,
  type NoteSigner,
  type NoteVerifier,
} from '../../src/trail/keys.js';
import { CompactRange } from '../../src/trail/merkle.js';
import { signNote } from '../../src/trail/note.js';
import { encodeObject } from '../../src/seal/encoder.js';
import type { TrailObject } from '../../src/sinks/sink.js';
import { objectText } from '../../src/seal/gzip.js';
import { type SealRecord, type StreamHead, sealRecords, signHead } from '../../src/seal/sealer.js';

/** Checkpoint origin prefix of test trails; a stream's origin is `<TRAIL_ORIGIN>/<stream>`. */
export const TRAIL_ORIGIN = 'tailseal.test/trail';
/** When the first batch of a test trail is sealed (2025-11-29T07:06:40Z). */
export const T0 = 1_764_400_000_000;
/** Time between two objects of a test trail. */
export const STEP_MS = 60_000;
/** How long after sealing a batch its checkpoint is signed. */
export const SIGN_DELAY_MS = 500;
/** The decision log file that test records claim to come from. */
export const SOURCE = '/var/log/opa/decisions.log';

/** The seed bytes 0x01..0x20 used by the committed vectors. */
export const VECTOR_SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

export interface TestKey {
  signerKey: string;
  verifierKey: string;
  signer: NoteSigner;
  verifier: NoteVerifier;
}

/** A deterministic note key: seed 0x01..0x20 by default, else 32 bytes of `fill`. */
export function testKey(name = TRAIL_ORIGIN, fill?: number): TestKey {
  const seed = fill === undefined ? VECTOR_SEED : new Uint8Array(32).fill(fill);
  const { signerKey, verifierKey } = generateKeyPair(name, seed);
  return { signerKey, verifierKey, signer: parseSignerKey(signerKey), verifier: parseVerifierKey(verifierKey) };
}

/** A realistic OPA console decision-log line (one JSON object, no trailing newline). */
export function decisionLine(i: number, extra = ''): string {
  return (
    `{"decision_id":"00000000-0000-4000-8000-${String(i).padStart(12, '0')}","input":{"method":"GET",` +
    `"path":["finance","reports","${i}"],"user":"user-${i}${extra}"},` +
    `"labels":{"id":"5b5d0c2e-8f0a-4a55-9f9c-6f3f0c1d2e3f","version":"1.4.2"},"level":"info",` +
    `"metrics":{"timer_rego_query_eval_ns":${40000 + i}},` +
    `"msg":"Decision Log","path":"httpapi/authz/allow","req_id":${i},` +
    `"requested_by":"10.1.2.3:51812","result":${i % 2 === 0},` +
    `"time":"2025-11-29T07:06:40Z","type":"openpolicyagent.org/decision_logs"}`
  );
}

/**
 * A record to seal: a decision line, or a gap of `gap` bytes (an over-long line, or the gap
 * record whose JSON payload is `payload`).
 */
export type RecordSpec = string | { gap: number; payload?: Record<string, unknown> };

/** One object of a plan: a batch of that many records, or a heartbeat (an idle checkpoint). */
export type PlanStep = number | 'heartbeat';

export interface TrailSpec {
  stream?: string;
  origin?: string;
  /** The records, consumed in order by the numeric steps of `plan`. Default: decisionLine(0..n-1). */
  records?: RecordSpec[];
  /** e.g. [3, 2, 4] or [3, 'heartbeat', 2]. The numbers must add up to records.length. */
  plan: PlanStep[];
  gzip?: boolean;
  /** The trail's key (default testKey()). */
  key?: TestKey;
  /** When the first batch is sealed (default T0); object i is sealed at t0 + i * STEP_MS. */
  t0?: number;
  /** Who signs the checkpoint of object `index` (default [key.signer]); more than one signs one note. */
  signersFor?: (index: number) => NoteSigner[];
}

export interface TrailObjectInfo {
  name: string;
  body: Buffer;
  note: string;
  firstSeq: number;
  size: number;
  createdAt: number;
  heartbeat: boolean;
  /** The tree's compact range at `size` (CompactRange.serialize()), as the outbox keeps it. */
  edge: Uint8Array;
}

export interface SealedTrail {
  stream: string;
  origin: string;
  objects: TrailObjectInfo[];
  /** Total entries sealed. */
  entries: number;
  /** Number of gap records. */
  gaps: number;
  /** The newest checkpoint note (of the last object). */
  latestNote: string;
  /** The signing time of the newest checkpoint. */
  newestTime: number;
  key: TestKey;
}

export interface BuiltTrail extends SealedTrail {
  /** Temporary directory holding store/, trail.pub and latest.note; removed by cleanup(). */
  root: string;
  /** The store directory (what `tailseal verify --store` reads). */
  dir: string;
  objectNames: string[];
  verifierKey: string;
  signerKey: string;
  /** The verifier key written to a file (one line). */
  pubFile: string;
  /** latestNote written to a file (for --latest). */
  latestFile: string;
  cleanup: () => void;
}

/** The text of a signed note (everything up to and including the blank line's preceding "\n"). */
export function noteText(note: string): string {
  return note.slice(0, note.lastIndexOf('\n\n') + 1);
}

function toRecord(r: RecordSpec, offset: number): { record: SealRecord; length: number } {
  if (typeof r === 'string') {
    const payload = Buffer.from(r, 'utf8');
    return { record: { kind: 'decision', source: SOURCE, offset, payload }, length: payload.length };
  }
  // A gap record as the file source's first version wrote it: verify treats payloads as opaque,
  // and the committed vectors and expected outputs keep these bytes.
  const payload = Buffer.from(JSON.stringify(r.payload ?? { reason: 'line_too_long', length: r.gap }));
  return { record: { kind: 'gap', source: SOURCE, offset, payload }, length: r.gap };
}

/** Seals and signs a trail in memory. Deterministic: fixed key, fixed times. */
export function sealTrail(spec: TrailSpec): SealedTrail {
  const stream = spec.stream ?? 'opa';
  const origin = spec.origin ?? TRAIL_ORIGIN;
  const key = spec.key ?? testKey();
  const batchTotal = spec.plan.reduce<number>((n, s) => n + (typeof s === 'number' ? s : 0), 0);
  const specs = spec.records ?? Array.from({ length: batchTotal }, (_, i) => decisionLine(i));
  if (specs.length !== batchTotal) throw new Error(`plan seals ${batchTotal} records but ${specs.length} were given`);

  let offset = 0;
  const records = specs.map((r) => {
    const { record, length } = toRecord(r, offset);
    offset += length + 1;
    return record;
  });

  let head: StreamHead = { name: stream, nextSeq: 0, chainHead: CHAIN_START, edge: CompactRange.empty() };
  const objects: TrailObjectInfo[] = [];
  let next = 0;
  spec.plan.forEach((step, index) => {
    const sealedAt = (spec.t0 ?? T0) + index * STEP_MS;
    const signedAt = sealedAt + SIGN_DELAY_MS;
    const firstSeq = head.nextSeq;
    let lines: Buffer[] = [];
    if (step !== 'heartbeat') {
      const sealed = sealRecords(head, records.slice(next, next + step), sealedAt);
      next += step;
      head = sealed.head;
      lines = sealed.entries.map((e) => e.line);
    }
    const signers = spec.signersFor?.(index) ?? [key.signer];
    let note = signHead(origin, head, signedAt, signers[0]!);
    if (signers.length > 1) note = signNote(noteText(note), signers);
    const o = { stream, firstSeq, size: head.nextSeq, createdAt: signedAt, lines, note };
    const { name, body } = encodeObject(o, spec.gzip ?? false);
    objects.push({
      name,
      body,
      note,
      firstSeq,
      size: head.nextSeq,
      createdAt: signedAt,
      heartbeat: step === 'heartbeat',
      edge: head.edge.serialize(),
    });
  });
  const last = objects[objects.length - 1];
  if (!last) throw new Error('empty plan');
  return {
    stream,
    origin,
    objects,
    entries: head.nextSeq,
    gaps: records.filter((r) => r.kind === 'gap').length,
    latestNote: last.note,
    newestTime: last.createdAt,
    key,
  };
}

/**
 * A sealed trail's objects as the outbox hands them to a sink: the entry lines one buffer each (no
 * checkpoint line), the note and the compact range at each object's size. Checked to encode back
 * to the sealed bytes.
 */
export function outboxObjects(t: SealedTrail): TrailObject[] {
  return t.objects.map((o, i) => {
    const lines = objectText(o.body)
      .toString('utf8')
      .split('\n')
      .slice(0, -2)
      .map((l) => Buffer.from(`${l}\n`, 'utf8'));
    const obj: TrailObject = {
      id: i + 1,
      stream: t.stream,
      firstSeq: o.firstSeq,
      size: o.size,
      createdAt: o.createdAt,
      lines,
      note: o.note,
      edge: o.edge,
    };
    if (!encodeObject(obj, false).body.equals(objectText(o.body)))
      throw new Error(`object ${i} does not encode back to the sealed bytes`);
    return obj;
  });
}

/** Makes a temporary directory under os.tmpdir(). */
export function tempDir(prefix = 'tailseal-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `body` to `<dir>/<name>` like the file sink (parent folders created). */
export function writeObject(dir: string, name: string, body: Uint8Array): void {
  const path = objectPath(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
}

/** Seals a trail and writes it to a new store directory. */
export function buildTrail(spec: TrailSpec): BuiltTrail {
  const sealed = sealTrail(spec);
  const root = tempDir('tailseal-trail-');
  const dir = join(root, 'store');
  mkdirSync(dir);
  for (const o of sealed.objects) writeObject(dir, o.name, o.body);
  const pubFile = join(root, 'trail.pub');
  writeFileSync(pubFile, `${sealed.key.verifierKey}\n`);
  const latestFile = join(root, 'latest.note');
  writeFileSync(latestFile, sealed.latestNote);
  return {
    ...sealed,
    root,
    dir,
    objectNames: sealed.objects.map((o) => o.name),
    verifierKey: sealed.key.verifierKey,
    signerKey: sealed.key.signerKey,
    pubFile,
    latestFile,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

// ---- tampering ----

/** The file path of object `name` in store `dir`. */
export function objectPath(dir: string, name: string): string {
  return join(dir, ...name.split('/'));
}

/** The object's lines (decompressed, without their "\n"). */
export function readObjectLines(dir: string, name: string): string[] {
  const text = objectText(readFileSync(objectPath(dir, name))).toString('utf8');
  if (!text.endsWith('\n')) throw new Error(`object ${name} does not end with a newline`);
  return text.slice(0, -1).split('\n');
}

/** Rewrites an object from lines (each gets a "\n"), gzip'd when its name ends in .gz. */
export function writeObjectLines(dir: string, name: string, lines: string[]): void {
  const plain = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  writeFileSync(objectPath(dir, name), name.endsWith('.gz') ? gzipSync(plain) : plain);
}

/** Reads, edits and rewrites the lines of an object. */
export function editObject(dir: string, name: string, edit: (lines: string[]) => string[]): void {
  writeObjectLines(dir, name, edit(readObjectLines(dir, name)));
}

/** Deletes an object from the store. */
export function removeObject(dir: string, name: string): void {
  rmSync(objectPath(dir, name));
}
