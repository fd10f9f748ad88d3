// A JSON validator over bytes for the classifier's fast path: it checks that an ASCII line is one
// JSON object (RFC 8259 grammar, https://www.rfc-editor.org/rfc/rfc8259) and reads the top-level
// "type" and "msg" string values, without decoding the line to a string or building objects
// (JSON.parse of every line was a tenth of the backlog's CPU, and its garbage more).
//
// It is only ever sure, never lenient: anything it does not handle exactly as JSON.parse would
// (a byte over 0x7f, a backslash in a top-level key or in a "type"/"msg" value, nesting deeper
// than MAX_DEPTH, or any syntax error) answers UNSURE, and the caller falls back to TextDecoder +
// JSON.parse, which also names the defect. test/unit/sources/file/json-scan.test.ts checks it against JSON.parse.

/** The scan's answer: a JSON object whose "type"/"msg" mark a decision, another JSON object, or unsure. */
export type Scan = 'decision' | 'other' | 'unsure';

const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Bytes a JSON string may hold as they are: printable ASCII except '"' and '\'. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;
/** Characters allowed after '\' besides 'u' (RFC 8259 §7). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const ch of '"\\/bfnrt') SIMPLE_ESCAPE[ch.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const ch of '0123456789abcdefABCDEF') HEX[ch.charCodeAt(0)] = 1;

const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

// Each scan function takes the position of its first byte and returns the position after what it
// scanned, or FAIL: positions stay in locals (the hot loops run once per byte of every line).
const FAIL = -1;
let src: Uint8Array = new Uint8Array(0);
/** Set by scanString: whether the string held an escape. */
let escaped = false;

function skipWs(p: number, end: number): number {
  while (p < end && isWs(src[p]!)) p++;
  return p;
}

/** Scans a string starting at its opening quote. */
function scanString(p: number, end: number): number {
  const s = src;
  p++;
  escaped = false;
  for (;;) {
    while (p < end && PLAIN[s[p]!] === 1) p++;
    if (p >= end) return FAIL;
    const c = s[p]!;
    if (c === QUOTE) return p + 1;
    if (c !== BACKSLASH) return FAIL; // a control character or a byte over 0x7f
    escaped = true;
    const e = s[p + 1] ?? 0;
    if (SIMPLE_ESCAPE[e] === 1) p += 2;
    else if (
      e === 0x75 &&
      HEX[s[p + 2] ?? 0] === 1 &&
      HEX[s[p + 3] ?? 0] === 1 &&
      HEX[s[p + 4] ?? 0] === 1 &&
      HEX[s[p + 5] ?? 0] === 1
    )
      p += 6;
    else return FAIL;
  }
}

function digits(p: number, end: number): number {
  while (p < end && isDigit(src[p]!)) p++;
  return p;
}

/** Scans a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function scanNumber(p: number, end: number): number {
  const s = src;
  if (s[p] === MINUS) p++;
  if (s[p] === ZERO) p++;
  else if (p < end && isDigit(s[p]!)) p = digits(p, end);
  else return FAIL;
  if (s[p] === DOT) {
    if (!(p + 1 < end && isDigit(s[p + 1]!))) return FAIL;
    p = digits(p + 1, end);
  }
  const e = s[p];
  if (e === 0x65 || e === 0x45) {
    p++;
    if (s[p] === PLUS || s[p] === MINUS) p++;
    if (!(p < end && isDigit(s[p]!))) return FAIL;
    p = digits(p, end);
  }
  return p;
}

function scanLiteral(p: number, end: number, word: Uint8Array): number {
  if (p + word.length > end) return FAIL;
  for (let i = 0; i < word.length; i++) if (src[p + i] !== word[i]) return FAIL;
  return p + word.length;
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function scanValue(p: number, end: number, depth: number): number {
  const c = src[p];
  if (c === QUOTE) return scanString(p, end);
  if (c === LBRACE) return scanObject(p, end, depth + 1, null);
  if (c === LBRACKET) return scanArray(p, end, depth + 1);
  if (c === 0x74) return scanLiteral(p, end, TRUE);
  if (c === 0x66) return scanLiteral(p, end, FALSE);
  if (c === 0x6e) return scanLiteral(p, end, NULL);
  if (c === MINUS || (c !== undefined && isDigit(c))) return scanNumber(p, end);
  return FAIL;
}

function scanArray(p: number, end: number, depth: number): number {
  if (depth > MAX_DEPTH) return FAIL;
  p = skipWs(p + 1, end);
  if (src[p] === RBRACKET) return p + 1;
  for (;;) {
    p = scanValue(p, end, depth);
    if (p === FAIL) return FAIL;
    p = skipWs(p, end);
    const c = src[p];
    if (c === RBRACKET) return p + 1;
    if (c !== COMMA) return FAIL;
    p = skipWs(p + 1, end);
  }
}

/** What the top-level object's "type" and "msg" members say (the last one of a name wins, as in JSON.parse). */
interface Marks {
  type: Uint8Array;
  msg: Uint8Array;
  typeMatch: boolean;
  msgMatch: boolean;
}

/** Whether src[from, to) holds exactly `want`. */
function bytesAre(from: number, to: number, want: Uint8Array): boolean {
  if (to - from !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (src[from + i] !== want[i]) return false;
  return true;
}

const TYPE_KEY = Buffer.from('type');
const MSG_KEY = Buffer.from('msg');

/** Scans an object; `marks` is given for the top-level one only. */
function scanObject(p: number, end: number, depth: number, marks: Marks | null): number {
  if (depth > MAX_DEPTH) return FAIL;
  p = skipWs(p + 1, end);
  if (src[p] === RBRACE) return p + 1;
  for (;;) {
    if (src[p] !== QUOTE) return FAIL;
    const keyStart = p + 1;
    p = scanString(p, end);
    if (p === FAIL) return FAIL;
    // A key spelled with escapes might still be "type" or "msg": leave that to JSON.parse.
    if (marks !== null && escaped) return FAIL;
    const keyEnd = p - 1;
    p = skipWs(p, end);
    if (src[p] !== COLON) return FAIL;
    p = skipWs(p + 1, end);
    const which =
      marks === null ? 0 : bytesAre(keyStart, keyEnd, TYPE_KEY) ? 1 : bytesAre(keyStart, keyEnd, MSG_KEY) ? 2 : 0;
    const valueStart = p;
    p = scanValue(p, end, depth);
    if (p === FAIL) return FAIL;
    if (which !== 0) {
      const isString = src[valueStart] === QUOTE;
      if (isString && escaped) return FAIL;
      if (which === 1) marks!.typeMatch = isString && bytesAre(valueStart + 1, p - 1, marks!.type);
      else marks!.msgMatch = isString && bytesAre(valueStart + 1, p - 1, marks!.msg);
    }
    p = skipWs(p, end);
    const c = src[p];
    if (c === RBRACE) return p + 1;
    if (c !== COMMA) return FAIL;
    p = skipWs(p + 1, end);
  }
}

const marks: Marks = { type: new Uint8Array(0), msg: new Uint8Array(0), typeMatch: false, msgMatch: false };

/**
 * Scans `line` as one JSON object and says whether its top-level "type" equals `type` or its
 * "msg" equals `msg` (both ASCII). Unsure for anything it cannot decide exactly.
 */
export function scanJsonObject(line: Uint8Array, type: Uint8Array, msg: Uint8Array): Scan {
  src = line;
  const end = line.length;
  marks.type = type;
  marks.msg = msg;
  marks.typeMatch = false;
  marks.msgMatch = false;
  let p = skipWs(0, end);
  p = src[p] === LBRACE ? scanObject(p, end, 1, marks) : FAIL;
  if (p !== FAIL) p = skipWs(p, end);
  src = EMPTY; // do not keep the caller's read buffer alive
  return p !== end ? 'unsure' : marks.typeMatch || marks.msgMatch ? 'decision' : 'other';
}

const EMPTY = new Uint8Array(0);
