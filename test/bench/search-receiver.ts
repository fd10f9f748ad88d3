// The benchmark's receiver for the search sinks, run as its own process (its CPU is not the
// daemon's): it answers each protocol's success as the real service does, after `--delay-ms` per
// request (a slow search backend), and counts the decisions it got. Prints its port.
//   --protocol elasticsearch: POST /_bulk (NDJSON, gzip or not) -> {"errors":false,"items":[201 x n]}
//   --protocol splunk_hec:    POST /services/collector/event -> {"text":"Success","code":0}
//   --protocol otlp:          POST /v1/logs -> 200, an empty ExportLogsServiceResponse
// GET /stats answers {"requests","decisions"}. Loopback only.
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const protocol = arg('protocol', 'elasticsearch');
const delayMs = Number(arg('delay-ms', '0'));
let requests = 0;
let decisions = 0;

/** Decisions in a body: bulk actions (every other line), HEC events, or OTLP records (by their seal attribute). */
function count(body: Buffer): number {
  const text = body.toString('latin1');
  if (protocol === 'elasticsearch') return text.split('\n').filter((l) => l.startsWith('{"create"')).length;
  const needle = protocol === 'splunk_hec' ? '"event":' : 'tailseal.seq';
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

const server = createServer((req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, decisions }));
    return;
  }
  const parts: Buffer[] = [];
  req.on('data', (b: Buffer) => parts.push(b));
  req.on('end', () => {
    let body = Buffer.concat(parts);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const n = count(body);
    const answer = () => {
      requests++;
      decisions += n;
      if (protocol === 'elasticsearch') {
        const items = Array.from({ length: n }, () => '{"create":{"status":201}}').join(',');
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"errors":false,"items":[${items}]}`);
      } else if (protocol === 'splunk_hec')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      else if (String(req.headers['content-type']).includes('json'))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
