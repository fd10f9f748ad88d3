// The daemon's s3 sink with no keys in its config: its credentials come through the AWS SDK chain
// from a container credential endpoint (how EKS Pod Identity and ECS task roles hand them out),
// and objects land on a real S3 server. Nothing of the machine's own AWS setup is used.
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { DaemonProc, Workspace } from '../helpers/daemon.js';
import { logsWith, makeWorkspace, startDaemon, stopDaemon, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import { type S3Server, createBucket, s3Client, s3ForSuite } from '../helpers/s3-server.js';

// Started here, at load, so that a skip is known when the tests are declared. Without a server,
// `it` declares each test skipped with the reason (a skipped describe would not be counted).
const suite = s3ForSuite();
const it = suite.it;

describe('s3 sink credentials from the AWS SDK chain', { timeout: 240_000 }, () => {
  let s3: S3Server;
  let agent: Server;
  let w: Workspace;
  let d: DaemonProc | undefined;
  const bucket = `tailseal-chain-${Date.now().toString(36)}`;
  const podToken = 'pod-identity-token-7f3a';
  const seen: (string | undefined)[] = [];

  before(async () => {
    if (!suite.server) return; // every test is skipped
    s3 = suite.server;
    await createBucket(s3, bucket, false);
    // The EKS Pod Identity agent's answer; the test server has no STS, so no session token.
    agent = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== podToken) return void res.writeHead(401).end('{}');
      const keys = { AccessKeyId: s3.accessKey, SecretAccessKey: s3.secretKey, Token: '' };
      res.writeHead(200).end(JSON.stringify({ ...keys, Expiration: new Date(Date.now() + 3600_000).toISOString() }));
    });
    await new Promise<void>((res) => agent.listen(0, '127.0.0.1', res));
  });
  after(() => {
    d?.child.kill('SIGKILL');
    agent?.close();
    w?.cleanup();
    s3?.stop();
  });

  it('a sink without keys signs with the container credentials and delivers', async () => {
    w = makeWorkspace({
      sinksYaml: `  - name: s3
    type: s3
    bucket: ${bucket}
    prefix: prod/
    endpoint: ${s3.endpoint}
    region: ${s3.region}
    path_style: true
    retry: { initial_backoff: 50ms, max_backoff: 300ms }`,
    });
    const tokenFile = join(w.root, 'eks-pod-identity-token');
    writeFileSync(tokenFile, podToken);
    const env: NodeJS.ProcessEnv = {};
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) env[k] = undefined;
    const agentUrl = `http://127.0.0.1:${(agent.address() as { port: number }).port}/v1/credentials`;
    Object.assign(env, {
      HOME: w.root,
      AWS_SHARED_CREDENTIALS_FILE: join(w.root, 'none'),
      AWS_CONFIG_FILE: join(w.root, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: agentUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    const rnd = prng(7);
    const lines = Array.from({ length: 20 }, (_, i) => decisionLine(i + 1, rnd) + '\n');
    appendFileSync(join(w.opaDir, 'opa.log'), lines.join(''));
    d = startDaemon(w, env);
    const delivered = () => {
      assert.equal(d!.child.exitCode, null, `the daemon exited: ${d!.logs.slice(-5).join('\n')}`);
      return logsWith(d!, 'Object acknowledged.').some((l) => l.sink === 's3');
    };
    await waitFor(delivered, 'an s3 delivery', 60_000);
    const got = logsWith(d, 'AWS credentials obtained.');
    assert.equal(got.length, 1);
    assert.match(String(got[0]!.credentials), /CREDENTIALS_HTTP/);
    assert.equal(got[0]!.sink, 's3');
    assert.deepEqual(seen, [podToken], 'asked once (then cached), with the token file content');
    assert.ok((await s3Client(s3, bucket).listKeys('prod/')).length > 0, 'objects in the bucket');
    assert.equal(await stopDaemon(d), 0);
    const logs = d.logs.join('\n');
    d = undefined;
    for (const secret of [s3.secretKey, podToken]) assert.ok(!logs.includes(secret), 'no secret in the logs');
  });
});
