// The OPA console lines `npm run demo:opa` writes: realistic decisions (random from a seeded PRNG)
// and OPA's other lines. The shape follows OPA's console decision logger (v1/plugins/logs/plugin.go):
// the event's fields at top level plus level/msg/time/type, keys sorted, compact JSON.

/** A small seeded PRNG (mulberry32): the same seed gives the same lines. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuid(rnd: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'eve'];
const PATHS = ['/salary/bob', '/finance/reports', '/api/v1/orders', '/admin/users', '/health'];

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** One decision line as OPA's console logger writes it at `now` (no trailing newline). */
export function decisionLine(i: number, rnd: () => number, now: Date): string {
  const user = USERS[Math.floor(rnd() * USERS.length)]!;
  const path = PATHS[Math.floor(rnd() * PATHS.length)]!;
  const allow = rnd() < 0.8;
  const event = {
    bundles: { authz: { revision: 'W3sibCI6InN5cy9jYXRhbG9nIiwicyI6NDA3MX1d' } },
    decision_id: uuid(rnd),
    input: { method: rnd() < 0.7 ? 'GET' : 'POST', path: path.split('/').slice(1), user },
    labels: { app: 'my-example-app', id: '1780d507-aea2-45cc-ae50-fa153c8e4a5a', version: '1.4.2' },
    level: 'info',
    metrics: {
      counter_server_query_cache_hit: 1,
      timer_rego_query_eval_ns: 20000 + Math.floor(rnd() * 90000),
      timer_server_handler_ns: 60000 + Math.floor(rnd() * 200000),
    },
    msg: 'Decision Log',
    path: 'http/example/authz/allow',
    req_id: i + 1,
    requested_by: '127.0.0.1:59943',
    result: allow,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    timestamp: now.toISOString().replace('Z', '123456Z'),
    type: 'openpolicyagent.org/decision_logs',
  };
  return JSON.stringify(sortKeys(event));
}

/** One of OPA's other log lines on the same stream (not a decision), at `now`. */
export function otherLine(i: number, now: Date): string {
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return i % 2 === 0
    ? JSON.stringify({
        client_addr: '127.0.0.1:59943',
        level: 'info',
        msg: 'Received request.',
        req_id: i,
        req_method: 'POST',
        req_path: '/v1/data/http/example/authz/allow',
        time,
      })
    : JSON.stringify({
        level: 'info',
        msg: 'Sent response.',
        req_id: i,
        req_method: 'POST',
        req_path: '/v1/data/http/example/authz/allow',
        resp_bytes: 16,
        resp_duration: 0.8,
        resp_status: 200,
        time,
      });
}
