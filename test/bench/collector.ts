// A minimal HTTP collector for the benchmark, run as its own process so it does not share the
// daemon's CPU accounting: answers 200 to every POST and counts bodies. Prints its port.
import { createServer } from 'node:http';

let objects = 0;
let bytes = 0;
const server = createServer((req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ objects, bytes }));
    return;
  }
  req.on('data', (b: Buffer) => (bytes += b.length));
  req.on('end', () => {
    objects++;
    res.writeHead(200).end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
