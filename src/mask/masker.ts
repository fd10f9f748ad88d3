// Masking and dropping decisions before they are sealed, with OPA's semantics
// (v1/plugins/logs/mask.go and mask_test.go): `erase` removes the value at a JSON pointer and
// records the pointer in the event's `erased` array; `upsert` sets it (creating objects on the
// way) and records it in `masked`; `hmac` (tailseal's own) replaces the value with
// HMAC-SHA256(key, its JSON) in hex, so equal values stay comparable, and records it in `masked`.
// `drop` discards the decision when the value at a pointer equals a JSON value or a string
// matches a pattern. Rules run in order; a pointer that leads nowhere is skipped, as in OPA.
//
// A decision no rule touches keeps its exact bytes. A rewritten one is serialised anew (compact;
// escapes and the order of integer-like keys may differ from OPA's text, values do not): an
// event with an integer JavaScript cannot hold exactly is refused rather than changed.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { isDeepStrictEqual } from 'node:util';
import { toHex } from '../trail/hash.js';
import type { MaskConfig, MaskRule } from './config.js';
import { type Json, get, parsePointer, remove, upsert } from './pointer.js';

export type MaskOutcome =
  | { kind: 'keep' }
  | { kind: 'masked'; payload: Buffer }
  | { kind: 'dropped'; rule: number; decisionId: string | undefined }
  | { kind: 'error'; message: string; decisionId: string | undefined };

type Compiled =
  | { op: 'erase'; pointer: string; tokens: string[] }
  | { op: 'upsert'; pointer: string; tokens: string[]; value: Json }
  | { op: 'hmac'; pointer: string; tokens: string[] }
  | { op: 'drop'; tokens: string[]; test: (v: Json | undefined) => boolean };

function compile(r: MaskRule): Compiled {
  if ('erase' in r) return { op: 'erase', pointer: r.erase, tokens: parsePointer(r.erase) };
  if ('upsert' in r) return { op: 'upsert', pointer: r.upsert, tokens: parsePointer(r.upsert), value: r.value as Json };
  if ('hmac' in r) return { op: 'hmac', pointer: r.hmac, tokens: parsePointer(r.hmac) };
  if ('equals' in r)
    return { op: 'drop', tokens: parsePointer(r.drop), test: (v) => v !== undefined && isDeepStrictEqual(v, r.equals) };
  const re = new RegExp(r.matches, 'u');
  return { op: 'drop', tokens: parsePointer(r.drop), test: (v) => typeof v === 'string' && re.test(v) };
}

/** Integers in a JSON text that a JavaScript number would round (outside strings). */
function hasInexactInteger(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j]!)) j++;
      const tok = text.slice(i, j);
      if (/^-?\d{16,}$/.test(tok) && BigInt(tok) !== BigInt(Number(tok))) return true;
      i = j - 1;
    }
  }
  return false;
}

export class Masker {
  /** Sealed with every masked decision and tombstone (`mask.version`). */
  readonly version: string;
  readonly tombstones: boolean;
  private readonly rules: Compiled[];
  private readonly key: Uint8Array | undefined;

  constructor(config: MaskConfig) {
    this.rules = config.rules.map(compile);
    this.key = config.hmac_key === undefined ? undefined : Buffer.from(config.hmac_key, 'utf8');
    this.tombstones = config.tombstones;
    this.version = config.version ?? `sha256-${toHex(sha256(Buffer.from(JSON.stringify(config.rules)))).slice(0, 16)}`;
  }

  /** Applies the rules to one decision (a JSON object's bytes). Never throws. */
  apply(payload: Uint8Array): MaskOutcome {
    const text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
    let doc: { [k: string]: Json };
    try {
      doc = JSON.parse(text) as { [k: string]: Json };
    } catch {
      // No parser message here: it may quote the event's text, which must not reach the trail.
      return { kind: 'error', message: 'the decision is not JSON', decisionId: undefined };
    }
    const decisionId = typeof doc.decision_id === 'string' ? doc.decision_id : undefined;
    const erased: string[] = [];
    const masked: string[] = [];
    try {
      for (const [i, r] of this.rules.entries()) {
        if (r.op === 'drop') {
          if (r.test(get(doc, r.tokens))) return { kind: 'dropped', rule: i, decisionId };
        } else if (r.op === 'erase') {
          if (remove(doc, r.tokens)) erased.push(r.pointer);
        } else if (r.op === 'upsert') {
          upsert(doc, r.tokens, structuredClone(r.value));
          masked.push(r.pointer);
        } else {
          const v = get(doc, r.tokens);
          if (v === undefined) continue;
          upsert(doc, r.tokens, toHex(hmac(sha256, this.key!, Buffer.from(JSON.stringify(v), 'utf8'))));
          masked.push(r.pointer);
        }
      }
      if (erased.length === 0 && masked.length === 0) return { kind: 'keep' };
      for (const [field, list] of [
        ['erased', erased],
        ['masked', masked],
      ] as const) {
        if (list.length === 0) continue;
        const existing = doc[field];
        if (existing !== undefined && !Array.isArray(existing))
          throw new Error(`the event's "${field}" is not an array`);
        doc[field] = [...(existing ?? []), ...list];
      }
      if (hasInexactInteger(text))
        throw new Error('the event holds an integer that cannot be rewritten exactly (over 2^53)');
      return { kind: 'masked', payload: Buffer.from(JSON.stringify(doc), 'utf8') };
    } catch (err) {
      return { kind: 'error', message: (err as Error).message, decisionId };
    }
  }
}
