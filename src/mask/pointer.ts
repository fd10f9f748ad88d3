// JSON pointers (RFC 6901) as OPA's mask rules use them: "/input/password", array indices
// ("/input/items/0"), "~1" for "/" and "~0" for "~" inside a key.
// https://www.rfc-editor.org/rfc/rfc6901
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The reference tokens of a pointer; throws on a pointer that does not start with "/". */
export function parsePointer(pointer: string): string[] {
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const isObject = (v: unknown): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An array index token: "0" or a number without leading zeros. */
function index(token: string, length: number): number | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
  const i = Number(token);
  return i < length ? i : undefined;
}

/** The container holding the pointer's last token, and that token; undefined when a step is missing. */
function parent(doc: Json, tokens: string[]): { container: Json[] | { [k: string]: Json }; key: string } | undefined {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t]!;
    else if (Array.isArray(cur) && index(t, cur.length) !== undefined) cur = cur[index(t, cur.length)!]!;
    else return undefined;
  }
  return isObject(cur) || Array.isArray(cur) ? { container: cur, key: tokens[tokens.length - 1]! } : undefined;
}

/** The value at the pointer, or undefined when it does not exist. */
export function get(doc: Json, tokens: string[]): Json | undefined {
  const p = parent(doc, tokens);
  if (!p) return undefined;
  if (Array.isArray(p.container)) {
    const i = index(p.key, p.container.length);
    return i === undefined ? undefined : p.container[i];
  }
  return Object.hasOwn(p.container, p.key) ? p.container[p.key] : undefined;
}

/** Removes the value at the pointer (an array element is spliced out); false when it did not exist. */
export function remove(doc: Json, tokens: string[]): boolean {
  const p = parent(doc, tokens);
  if (!p) return false;
  if (Array.isArray(p.container)) {
    const i = index(p.key, p.container.length);
    if (i === undefined) return false;
    p.container.splice(i, 1);
    return true;
  }
  if (!Object.hasOwn(p.container, p.key)) return false;
  delete p.container[p.key];
  return true;
}

/**
 * Sets the value at the pointer, creating missing objects on the way (as OPA's upsert does);
 * throws when a step runs into a value that is not an object (or an array with that index).
 */
export function upsert(doc: Json, tokens: string[], value: Json): void {
  let cur: Json = doc;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const last = k === tokens.length - 1;
    if (Array.isArray(cur)) {
      const i = index(t, cur.length);
      if (i === undefined) throw new Error(`no element ${t} in the array at /${tokens.slice(0, k).join('/')}`);
      if (last) cur[i] = value;
      else cur = cur[i]!;
    } else if (isObject(cur)) {
      if (last) {
        // A key such as "__proto__" must stay an ordinary key.
        Object.defineProperty(cur, t, { value, enumerable: true, writable: true, configurable: true });
      } else {
        if (!Object.hasOwn(cur, t))
          Object.defineProperty(cur, t, { value: {}, enumerable: true, writable: true, configurable: true });
        cur = cur[t]!;
      }
    } else {
      throw new Error(`cannot set a member inside the ${typeof cur} at /${tokens.slice(0, k).join('/')}`);
    }
  }
}
