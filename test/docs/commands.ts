// Every command line the docs show, classified: run by an integration test (which takes the command
// from here, after checking that the doc still says exactly that), or not runnable here, with why.
// test/unit/docs-commands.test.ts fails on a doc command found in neither list, and on an entry the
// docs no longer contain, so a command cannot be added or changed in the docs without a test noticing.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

export interface DocCommand {
  /** README.md or docs/<name>.md */
  doc: string;
  command: string;
}

export interface RunEntry extends DocCommand {
  /** The test/integration file that runs it; it names the entry as `RUN.<key>`. */
  test: string;
}

/** Markdown pages whose commands are collected. */
export function docPages(): string[] {
  const docs = readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  return ['README.md', ...docs.sort().map((f) => `docs/${f}`)];
}

/**
 * The command lines of a page: each line of its ```sh blocks (continuations joined, comments cut),
 * and inline `tailseal ...` code that is a whole command line: it has an option, and is no synopsis
 * (no `[optional]`, `...`, `a|b` or upper-case placeholder such as FILE).
 */
export function commandsOf(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const lines = m[1]!.replace(/\s*\\\n\s*/g, ' ').split('\n');
    out.push(...lines.map((l) => l.replace(/(^|\s+)#.*$/, '').trim()).filter((l) => l !== ''));
  }
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of prose.matchAll(/`(tailseal [^`]+)`/g)) {
    const command = m[1]!.replace(/\s+/g, ' ').trim();
    if (command.includes(' --') && !/[[|]|\.\.\.|\b[A-Z]{2,}\b/.test(command)) out.push(command);
  }
  return out;
}

/** Every (page, command) of the docs. */
export function allDocCommands(): DocCommand[] {
  return docPages().flatMap((doc) =>
    commandsOf(readFileSync(join(REPO_ROOT, doc), 'utf8')).map((command) => ({ doc, command })),
  );
}

/** The entry's command, after checking that its page still shows it (integration tests run this). */
export function docCommand(entry: DocCommand): string {
  const found = commandsOf(readFileSync(join(REPO_ROOT, entry.doc), 'utf8'));
  if (!found.includes(entry.command)) {
    throw new Error(`${entry.doc} no longer shows \`${entry.command}\`; update test/docs/commands.ts and its test`);
  }
  return entry.command;
}

const ops = 'docs/operations.md';
export const RUN = {
  witnessKeygen: {
    doc: ops,
    command: 'tailseal keygen --witness --name witness.example.com/w1 --out witness.key',
    test: 'witness.test.ts',
  },
  witnessCosign: {
    doc: ops,
    command:
      'tailseal cosign --store /var/lib/tailseal/store --public-key signer.key.pub --witness-key witness.key ' +
      '--witness-store /var/lib/witness/cosigned --state /var/lib/witness/state.json',
    test: 'witness.test.ts',
  },
  witnessVerify: {
    doc: ops,
    command:
      'tailseal verify --store /var/lib/tailseal/store --public-key signer.key.pub --witness-key witness.key.pub ' +
      '--witness-store /var/lib/witness/cosigned',
    test: 'witness.test.ts',
  },
  quickStartStart: { doc: 'README.md', command: 'npm ci && npm start', test: 'quickstart.test.ts' },
  quickStartDemo: { doc: 'README.md', command: 'npm run demo:opa', test: 'quickstart.test.ts' },
  quickStartLs: { doc: 'README.md', command: 'ls var/store/opa/', test: 'quickstart.test.ts' },
  quickStartVerify: {
    doc: 'README.md',
    command: 'npm run tailseal -- verify --store var/store --public-key var/keys/tailseal.key.pub',
    test: 'quickstart.test.ts',
  },
  // What `npm start` runs (package.json's start script, checked by the Quick start test).
  quickStartRun: { doc: 'README.md', command: 'tailseal run --config config/example.yaml', test: 'quickstart.test.ts' },
  verifyS3: {
    doc: ops,
    command:
      'tailseal verify --store s3://opa-decisions-audit/prod/cluster-a/ --config tailseal.yaml --sink archive ' +
      '--public-key signer.key.pub --min-retention 400d',
    test: 's3-e2e.test.ts',
  },
  checkSink: { doc: ops, command: 'tailseal check-sink <name> --config <file>', test: 's3-e2e.test.ts' },
  rotationKeygen: { doc: ops, command: 'tailseal keygen --name <origin> --out new.key', test: 'key-rotation.test.ts' },
  // The store part of the rotation's verify command (its keys are the Key rotation section's).
  verifyDir: { doc: ops, command: 'tailseal verify --store <dir>', test: 'key-rotation.test.ts' },
  version: { doc: 'docs/deploy.md', command: 'tailseal --version', test: 'key-rotation.test.ts' },
  proveDecision: {
    doc: ops,
    command:
      'tailseal prove --store /var/lib/tailseal/store --public-key signer.key.pub --decision-id 4a3b2c1d-0001 ' +
      '--out proof.json',
    test: 'prove.test.ts',
  },
  verifyProof: {
    doc: ops,
    command: 'tailseal verify-proof proof.json --public-key signer.key.pub',
    test: 'prove.test.ts',
  },
  proveConsistency: {
    doc: ops,
    command:
      'tailseal prove --consistency --old saved.checkpoint --store /var/lib/tailseal/store ' +
      '--public-key signer.key.pub --out consistency.json',
    test: 'prove.test.ts',
  },
  verifyConsistency: {
    doc: ops,
    command: 'tailseal verify-proof consistency.json --public-key signer.key.pub',
    test: 'prove.test.ts',
  },
  reportHtml: {
    doc: ops,
    command:
      'tailseal report --store /var/lib/tailseal/store --public-key signer.key.pub --since 2026-11-01T00:00:00Z ' +
      '--format html --out report.html',
    test: 'report.test.ts',
  },
  indexStore: {
    doc: ops,
    command: 'tailseal index --store /var/lib/tailseal/store --public-key signer.key.pub --index audit.index',
    test: 'prove-index.test.ts',
  },
  proveIndexed: {
    doc: ops,
    command:
      'tailseal prove --store /var/lib/tailseal/store --public-key signer.key.pub --index audit.index ' +
      '--decision-id 4a3b2c1d-0020',
    test: 'prove-index.test.ts',
  },
  verifierPage: { doc: ops, command: 'tailseal verifier-page --out verifier.html', test: 'verifier-page.test.ts' },
  monitor: { doc: ops, command: 'tailseal monitor --config config/monitor.yaml', test: 'monitor.test.ts' },
  verifierPageSha: { doc: ops, command: 'sha256sum verifier.html', test: 'verifier-page.test.ts' },
} as const satisfies Record<string, RunEntry>;

const DOCKER = 'needs a Docker engine (none here); deploy.test.ts checks the Dockerfile and files it uses';
const KUBE = 'needs a Kubernetes cluster (none here); deploy.test.ts checks deploy/kubernetes/';
const SYSTEMD = 'installs into /etc and runs systemd as root (not here); deploy.test.ts checks deploy/systemd/';
const PACKAGE = 'a global npm install (minutes, downloads): run by npm run test:package (global-install.test.ts)';
const BENCH = 'a benchmark: minutes of both cores; its numbers mean nothing on a loaded test machine';
const deploy = 'docs/deploy.md';
const bench = 'docs/benchmarks.md';

/** Doc commands not run by a test, with the reason. */
export const NOT_RUNNABLE: (DocCommand & { reason: string })[] = [
  { doc: 'README.md', command: 'npm test', reason: 'the whole test suite: this test is part of it' },
  { doc: bench, command: 'npm run bench', reason: BENCH },
  { doc: bench, command: 'npm run bench -- --size 1000000 --live-seconds 60', reason: BENCH },
  { doc: bench, command: 'npm run bench -- --scenario live --live-seconds 60 --rate 5000', reason: BENCH },
  { doc: bench, command: 'npm run bench -- --size 1000000 --scenario backlog --runs 5', reason: BENCH },
  { doc: bench, command: 'npm run bench:hot', reason: BENCH },
  { doc: bench, command: 'npm run bench -- --scenario monitor', reason: BENCH },
  { doc: bench, command: 'npm run bench -- --scenario search', reason: BENCH },
  {
    doc: bench,
    command:
      'npm run bench -- --size 1000000 --runs 3 --scenario backlog,http,idle,live --live-seconds 30 ' +
      '--peer-fluent-bit /opt/fluent-bit/bin/fluent-bit',
    reason: `${BENCH}; and a Fluent Bit binary`,
  },
  { doc: deploy, command: 'docker build -t tailseal:0.1.0 .', reason: DOCKER },
  { doc: deploy, command: 'mkdir -p etc-tailseal state', reason: `prepares the docker run below: ${DOCKER}` },
  { doc: deploy, command: 'cp deploy/systemd/tailseal.yaml etc-tailseal/', reason: `prepares docker run: ${DOCKER}` },
  {
    doc: deploy,
    command:
      'docker run --rm --user "$(id -u):$(id -g)" -v "$PWD/etc-tailseal:/etc/tailseal" tailseal:0.1.0 ' +
      'keygen --name opa.example.com/host-1 --out /etc/tailseal/signing.key',
    reason: DOCKER,
  },
  {
    doc: deploy,
    command:
      'docker run -d --name tailseal --read-only --user "$(id -u):$(id -g)" ' +
      '-v "$PWD/etc-tailseal:/etc/tailseal:ro" -v "$PWD/state:/var/lib/tailseal" ' +
      '-v /var/log/opa:/var/log/opa:ro tailseal:0.1.0',
    reason: DOCKER,
  },
  { doc: deploy, command: "docker inspect --format '{{.State.Health.Status}}' tailseal", reason: DOCKER },
  { doc: deploy, command: 'docker kill --signal HUP tailseal', reason: DOCKER },
  {
    doc: deploy,
    command: 'docker build -t registry.example/tailseal:0.1.0 . && docker push registry.example/tailseal:0.1.0',
    reason: DOCKER,
  },
  {
    doc: deploy,
    command: 'tailseal keygen --name opa.example.com --out tailseal.key',
    reason: `the key for the kubectl secret below (keygen itself: RUN.rotationKeygen); ${KUBE}`,
  },
  {
    doc: deploy,
    command: 'kubectl create secret generic tailseal-signing-key --from-file=tailseal.key=tailseal.key',
    reason: KUBE,
  },
  {
    doc: deploy,
    command: 'kubectl create secret generic tailseal-upload-token --from-literal=token="$(openssl rand -hex 32)"',
    reason: KUBE,
  },
  { doc: deploy, command: 'kubectl apply -f deploy/kubernetes/opa-upload.yaml', reason: KUBE },
  { doc: deploy, command: 'kubectl apply -f deploy/kubernetes/monitor/monitor-sharded.yaml', reason: KUBE },
  {
    doc: deploy,
    command: 'kubectl exec deploy/opa -c tailseal -- tailseal status --config /etc/tailseal/tailseal.yaml',
    reason: KUBE,
  },
  {
    doc: deploy,
    command: 'tailseal verify --store s3://opa-decisions-audit/<namespace>/<pod>/ --public-key tailseal.key.pub',
    reason: `a cluster's bucket; ${KUBE} (verify over s3: RUN.verifyS3)`,
  },
  {
    doc: deploy,
    command: "docker buildx imagetools inspect openpolicyagent/opa:1.23.0 --format '{{json .Manifest.Digest}}'",
    reason: `a registry look-up (no network here); ${DOCKER}`,
  },
  { doc: deploy, command: 'docker push registry.example/tailseal:0.1.0', reason: DOCKER },
  {
    doc: deploy,
    command: "sed -i 's|opa:1.23.0@sha256:0\\{64\\}|opa:1.23.0@sha256:<digest>|' deploy/kubernetes/opa-upload.yaml",
    reason: `edits the tracked manifest with a real digest; ${KUBE} (that the digests are pinned)`,
  },
  { doc: deploy, command: 'npm pack', reason: PACKAGE },
  {
    doc: deploy,
    command: 'npm install -g --prefix /usr/local --allow-scripts=better-sqlite3 ./tailseal-0.1.0.tgz',
    reason: PACKAGE,
  },
  { doc: deploy, command: 'install -m 0644 deploy/systemd/tailseal.service /etc/systemd/system/', reason: SYSTEMD },
  { doc: deploy, command: 'install -d -m 0755 /etc/tailseal', reason: SYSTEMD },
  { doc: deploy, command: 'install -m 0644 deploy/systemd/tailseal.yaml /etc/tailseal/', reason: SYSTEMD },
  {
    doc: deploy,
    command: 'tailseal keygen --name opa.example.com/vm-1 --out /etc/tailseal/signing.key',
    reason: `writes into /etc/tailseal (keygen itself: RUN.rotationKeygen); ${SYSTEMD}`,
  },
  { doc: deploy, command: 'groupadd --system opa-logs', reason: SYSTEMD },
  { doc: deploy, command: 'install -d -m 2750 -o root -g opa-logs /var/log/opa', reason: SYSTEMD },
  { doc: deploy, command: 'systemctl daemon-reload && systemctl enable --now tailseal', reason: SYSTEMD },
  { doc: deploy, command: 'systemctl reload tailseal', reason: SYSTEMD },
  { doc: deploy, command: 'journalctl -u tailseal -o cat', reason: SYSTEMD },
  { doc: deploy, command: 'tailseal status --config /etc/tailseal/tailseal.yaml', reason: SYSTEMD },
  { doc: deploy, command: 'npm install -g --allow-scripts=better-sqlite3 ./tailseal-0.1.0.tgz', reason: PACKAGE },
  {
    doc: ops,
    command: 'opa run --server --config-file opa.yaml 2>> /var/log/opa/opa.log',
    reason: 'an OPA server writing to /var/log/opa (root); the real-opa tests run OPA 1.8.0 so, into a temp dir',
  },
  {
    doc: ops,
    command:
      'aws s3api create-bucket --bucket opa-decisions-audit --region eu-west-1 ' +
      '--create-bucket-configuration LocationConstraint=eu-west-1 --object-lock-enabled-for-bucket',
    reason: 'the aws cli and an AWS account (none here); s3-e2e.test.ts makes an Object Lock bucket on Ceph RGW',
  },
];
