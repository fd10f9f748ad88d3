// A minimal HTTP collector for the benchmark, run as its own process so it does not share the
// daemon's CPU accounting: answers 200 to every POST, counts bodies, bytes and lines (Fluent Bit's
// json_lines bodies hold one record a line). Prints its port. With --latency it also records, for
// every `written_at_ms` in a body (plain, or escaped inside tailseal's entry payload), the time
// from that write to the body's arrival. GET /stats answers the counts (and latencies).
import { createServer } from 'node:http';

const withLatency = process.argv.includes('--latency');
const WRITTEN_AT = /written_at_ms\\?":(\d+)/g;
const NL = 0x0a;

let objects = 0;
let bytes = 0;
let lines = 0;
const latencies: number[] = [];
const server = createServer((req, res) => {
  if (req.url === '/stats') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ objects, bytes, lines, latencies }));
    return;
  }
  const parts: Buffer[] = [];
  req.on('data', (b: Buffer) => {
    bytes += b.length;
    for (let i = b.indexOf(NL); i >= 0; i = b.indexOf(NL, i + 1)) lines++;
    if (withLatency) parts.push(b);
  });
  req.on('end', () => {
    objects++;
    if (withLatency) {
      const now = Date.now();
      for (const m of Buffer.concat(parts).toString('latin1').matchAll(WRITTEN_AT)) latencies.push(now - Number(m[1]));
    }
    res.writeHead(200).end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
