// Issue 9, packaging: the deployment files are checked against each other and run. The
// Kubernetes documents are parsed as the API server would (YAML 1.1), tailseal's ConfigMap is
// loaded by the real config loader with the container's environment, and the pod's mounts,
// probes and security settings are matched against it. The Dockerfile's ENTRYPOINT + CMD, ENV
// and HEALTHCHECK and the systemd unit's ExecStart, ExecReload and credentials are read from the
// files and run against the repository's CLI, so a change to one of them that breaks the others
// fails here. No container engine or systemd is needed: `systemd-analyze verify` runs when it is
// installed, and the image's read-only root is reproduced with a private mount namespace when
// the test runs as root.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { describe, it } from 'node:test';
import picomatch from 'picomatch';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { writeKeyPair } from '../../src/seal/keyfile.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { parseListen } from '../../src/common/units.js';
import { type DaemonProc, cli, freePort, logsWith, storedDecisions, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import { event, upload } from '../helpers/opa-upload.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { onPath, toolFromEnv } from '../helpers/tools.js';

const K8S_DIR = join(REPO_ROOT, 'deploy', 'kubernetes');
const UNIT_FILE = join(REPO_ROOT, 'deploy', 'systemd', 'tailseal.service');
const SYSTEMD_CONFIG = join(REPO_ROOT, 'deploy', 'systemd', 'tailseal.yaml');
const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');
const DEPLOY_DOC = join(REPO_ROOT, 'docs', 'deploy.md');

type Obj = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Kubernetes

/** Every document of a manifest file. Kubernetes reads YAML 1.1: `defaultMode: 0440` is octal. */
function k8sDocuments(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1', uniqueKeys: true });
  return docs.map((d, i) => {
    assert.deepEqual(d.errors, [], `${basename(file)} document ${i}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Obj;
  });
}

interface Variant {
  file: string;
  docs: Obj[];
  deployment: Obj;
  pod: Obj;
  tailseal: Obj;
  opa: Obj;
  /** tailseal's config file text (from its ConfigMap) and its path in the container. */
  configText: string;
  configPath: string;
  /** The container's environment, downward-API fields filled in as the kubelet would. */
  env: Record<string, string>;
}

const POD_FIELDS: Record<string, string> = { 'metadata.name': 'opa-6c9f7d8b5-x2k8p', 'metadata.namespace': 'payments' };

/** What a Secret's key holds in these tests: the same for every container that refers to it. */
const secretValue = (ref: Obj) => `secret-${ref.name}-${ref.key}-0123456789abcdef`;

function containerEnv(c: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (c.env ?? []) as Obj[]) {
    const from = e.valueFrom;
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (from?.fieldRef) {
      const path = from.fieldRef.fieldPath;
      env[e.name] = POD_FIELDS[path] ?? assert.fail(`env ${e.name}: unexpected fieldRef ${path}`);
    } else if (from?.secretKeyRef) env[e.name] = secretValue(from.secretKeyRef);
    else assert.fail(`env ${e.name}: only value, fieldRef and secretKeyRef are expected in the example`);
  }
  return env;
}

/** The Secret key (`name/key`) a container's variable comes from, if it comes from one. */
function secretRef(c: Obj, name: string): string | undefined {
  const ref = ((c.env ?? []) as Obj[]).find((e) => e.name === name)?.valueFrom?.secretKeyRef;
  return ref ? `${ref.name}/${ref.key}` : undefined;
}

/** An image reference's repository (no registry host, tag or digest), e.g. `tailseal`, `openpolicyagent/opa`. */
function imageRepo(image: string): string {
  const name = image.split('@')[0]!.replace(/:[^/:]+$/, '');
  const parts = name.split('/');
  return (parts.length > 1 && /[.:]/.test(parts[0]!) ? parts.slice(1) : parts).join('/');
}

/** `--name=value` or `--name value` in a container's command line. */
function flag(c: Obj, name: string): string | undefined {
  const cmd = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
  return new RegExp(`--${name}[= ](\\S+)`).exec(cmd)?.[1];
}

/** The volume mounted at the directory holding `path` in container `c`, with the file's name in it. */
function mountOf(v: { pod: Obj }, c: Obj, path: string): { mount: Obj; volume: Obj; rest: string } {
  const mounts = ((c.volumeMounts ?? []) as Obj[]).filter(
    (m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`),
  );
  assert.ok(mounts.length > 0, `${c.name}: no volume mounted over ${path}`);
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0]!;
  const volume =
    (v.pod.volumes as Obj[]).find((x) => x.name === mount.name) ??
    assert.fail(`${c.name}: volume ${mount.name} is not defined`);
  return { mount, volume, rest: posix.relative(mount.mountPath, path) };
}

function loadVariant(file: string): Variant {
  const docs = k8sDocuments(file);
  const deployment = docs.find((d) => d.kind === 'Deployment') ?? assert.fail(`${file}: no Deployment`);
  const pod = deployment.spec.template.spec as Obj;
  const containers = pod.containers as Obj[];
  const runs = (repo: string) => containers.find((c) => imageRepo(c.image) === repo);
  const tailseal = runs('tailseal') ?? assert.fail('no container runs tailseal');
  const opa = runs('openpolicyagent/opa') ?? assert.fail('no OPA container');
  const args = tailseal.args as string[];
  assert.equal(args[0], 'run');
  const configPath = args[args.indexOf('--config') + 1]!;
  const v = { file, docs, deployment, pod, tailseal, opa, configPath, env: containerEnv(tailseal) };
  const { volume, rest } = mountOf(v, tailseal, configPath);
  const cm =
    docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volume.configMap?.name) ??
    assert.fail(`${configPath}: not from a ConfigMap of ${basename(file)}`);
  const configText = cm.data[rest] ?? assert.fail(`ConfigMap ${cm.metadata.name} has no key ${rest}`);
  return { ...v, configText };
}

/** tailseal's config as the daemon in the pod loads it: `${VAR}` from the container's env only. */
function podConfig(v: Variant): Config {
  return parseConfig(parseYaml(v.configText), `${basename(v.file)}:${v.configPath}`, v.env);
}

function bytesOf(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q) ?? assert.fail(`quantity ${q}`);
  return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''] ?? 1);
}

/** The port a probe dials, its named port resolved. */
function probePort(c: Obj, probe: Obj): number {
  const p = probe.httpGet.port;
  if (typeof p === 'number') return p;
  return ((c.ports as Obj[]).find((x) => x.name === p) ?? assert.fail(`${c.name}: no port named ${p}`)).containerPort;
}

/** The file OPA's stderr is redirected to in a `sh -c '... 2>>FILE'` command, if any. */
function opaStderrFile(opa: Obj): string | undefined {
  const cmd = [...(opa.command ?? []), ...(opa.args ?? [])].join(' ');
  return /2>>\s*(\S+)/.exec(cmd)?.[1];
}

/** OPA's config file (from --config-file) as parsed YAML. */
function opaConfig(v: Variant): Obj {
  const cmd = [...(v.opa.command ?? []), ...(v.opa.args ?? [])].join(' ');
  const path = /--config-file[= ](\S+)/.exec(cmd)?.[1] ?? assert.fail('OPA has no --config-file');
  const { volume, rest } = mountOf(v, v.opa, path);
  const cm =
    v.docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volume.configMap?.name) ??
    assert.fail(`${path}: not from a ConfigMap`);
  return parseYaml(cm.data[rest] ?? assert.fail(`ConfigMap ${cm.metadata.name} has no key ${rest}`)) as Obj;
}

/** OPA's `services`, a map or a list of named entries, as a map. */
function opaServices(oc: Obj): Obj {
  return Array.isArray(oc.services) ? Object.fromEntries((oc.services as Obj[]).map((x) => [x.name, x])) : oc.services;
}

const variants = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('deploy/kubernetes', () => {
  it('has both sidecar variants: OPA uploading to tailseal, and OPA stderr in a shared file', () => {
    const types = variants.map((f) =>
      podConfig(loadVariant(join(K8S_DIR, f)))
        .inputs.map((i) => i.type)
        .join(),
    );
    assert.deepEqual(types.sort(), ['file', 'opa_service']);
  });

  for (const f of variants) {
    describe(f, () => {
      const v = loadVariant(join(K8S_DIR, f));

      it("tailseal's ConfigMap loads with the real config loader and only the container's environment", () => {
        const c = podConfig(v);
        assert.match(c.origin, /\/payments\/opa-6c9f7d8b5-x2k8p$/, 'one origin per pod');
        for (const s of c.sinks)
          if (s.type === 's3')
            assert.match(s.prefix, /opa-6c9f7d8b5-x2k8p\/$/, "each pod's objects under its own prefix");
      });

      it('runs as non-root with a read-only root, no privilege escalation and no capabilities', () => {
        const psc = v.pod.securityContext;
        assert.equal(psc.runAsNonRoot, true);
        assert.ok(Number.isInteger(psc.runAsUser) && psc.runAsUser > 0, 'a numeric non-root user');
        for (const c of v.pod.containers as Obj[]) {
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
          assert.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name);
          assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], c.name);
        }
      });

      it('the signing key Secret, the state volume and the config line up with the mounts', () => {
        const c = podConfig(v);
        const key = mountOf(v, v.tailseal, c.signing.key_file!);
        assert.equal(key.mount.readOnly, true);
        const secret = key.volume.secret ?? assert.fail('the signing key is not from a Secret');
        assert.ok(
          ((secret.items ?? []) as Obj[]).some((i) => i.path === key.rest) || (!secret.items && key.rest !== ''),
          `the Secret provides ${key.rest}`,
        );
        const mode = secret.defaultMode as number;
        assert.equal(
          mode & 0o037,
          0,
          `defaultMode ${mode.toString(8)}: never writable by the group nor readable by others`,
        );
        // With fsGroup the kubelet adds group read to the Secret's files: tailseal must expect it.
        if (mode & 0o040 || v.pod.securityContext.fsGroup !== undefined) assert.equal(c.signing.allow_group_read, true);
        const state = mountOf(v, v.tailseal, c.state_dir);
        assert.equal(state.rest, '', 'state_dir is the volume itself');
        assert.notEqual(state.mount.readOnly, true, 'state_dir is writable');
        if (state.volume.emptyDir)
          assert.notEqual(
            c.recovery.on_state_loss,
            'refuse',
            'an emptyDir state without a recovery policy would refuse to start',
          );
        for (const m of [...(v.tailseal.volumeMounts as Obj[]), ...(v.opa.volumeMounts as Obj[])]) {
          assert.ok(
            (v.pod.volumes as Obj[]).some((x) => x.name === m.name),
            `mount ${m.name} has a volume`,
          );
        }
        for (const vol of v.pod.volumes as Obj[]) {
          if (vol.configMap)
            assert.ok(
              v.docs.some((d) => d.kind === 'ConfigMap' && d.metadata.name === vol.configMap.name),
              `ConfigMap ${vol.configMap.name} is in ${f}`,
            );
        }
      });

      it('probes dial metrics.listen: /readyz to start, /healthz for liveness, a health path for readiness', () => {
        const c = podConfig(v);
        assert.equal(c.metrics.enabled, true);
        const { host, port } = parseListen(c.metrics.listen);
        assert.ok(
          host === '0.0.0.0' || host === '::',
          `the kubelet probes the pod IP, so metrics.listen must not be loopback (${c.metrics.listen})`,
        );
        assert.equal(v.tailseal.livenessProbe.httpGet.path, '/healthz');
        assert.equal(probePort(v.tailseal, v.tailseal.livenessProbe), port);
        assert.equal(v.tailseal.startupProbe.httpGet.path, '/readyz');
        assert.equal(probePort(v.tailseal, v.tailseal.startupProbe), port);
        assert.ok(['/healthz', '/readyz'].includes(v.tailseal.readinessProbe.httpGet.path));
        assert.equal(probePort(v.tailseal, v.tailseal.readinessProbe), port);
        // The trade-off is documented beside the readiness probe.
        assert.ok(readFileSync(v.file, 'utf8').includes('fail-closed'));
      });

      it('OPA hands its decisions to the input tailseal reads', () => {
        const c = podConfig(v);
        const oc = opaConfig(v);
        const input = c.inputs[0]!;
        if (input.type === 'opa_service') {
          const { host } = parseListen(input.listen);
          assert.ok(host === '127.0.0.1' || host === '::1', 'the receiver stays on loopback');
          const service = oc.decision_logs?.service ?? assert.fail('OPA decision_logs.service is not set');
          const services = opaServices(oc);
          const url = new URL(services[service].url);
          assert.equal(`${url.hostname}:${url.port}`, input.listen);
          assert.equal(url.pathname.replace(/\/$/, '') + (oc.decision_logs.resource ?? '/logs'), input.resource);
          assert.ok(
            oc.decision_logs.reporting.max_delay_seconds <= 10,
            "OPA's default 300-600 s upload delay is shortened",
          );
        } else {
          assert.equal(input.type, 'file');
          assert.equal(oc.decision_logs?.console, true);
          const file = opaStderrFile(v.opa) ?? assert.fail("OPA's stderr is not redirected to a file");
          assert.ok(
            input.paths.some((p) => picomatch.isMatch(file, p)),
            `${file} matches the input's paths`,
          );
          assert.match(
            [...(v.opa.command ?? []), ...(v.opa.args ?? [])].join(' '),
            /exec \S*opa run/,
            'exec: OPA, not the shell, gets SIGTERM',
          );
          const inOpa = mountOf(v, v.opa, file);
          const inTailseal = mountOf(v, v.tailseal, file);
          assert.equal(inOpa.volume.name, inTailseal.volume.name, 'both containers mount the same volume');
          assert.ok(inOpa.volume.emptyDir, 'a shared emptyDir');
          assert.equal(inTailseal.mount.readOnly, true, 'tailseal only reads it');
          assert.notEqual(inOpa.mount.readOnly, true);
        }
      });

      it('resources come from the benchmark figures; termination leaves room for preStop and shutdown.grace', () => {
        const c = podConfig(v);
        const r = v.tailseal.resources;
        assert.ok(bytesOf(r.limits.memory) > 151 * 1e6, 'above the 151 MB backlog peak (docs/benchmarks.md)');
        assert.ok(bytesOf(r.requests.memory) >= 81 * 1e6, 'the idle RSS');
        assert.ok(r.requests.cpu && r.limits.cpu);
        const preStop = (v.tailseal.lifecycle?.preStop?.exec?.command ?? []) as string[];
        const wait = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
        assert.ok(
          v.pod.terminationGracePeriodSeconds > wait + c.shutdown.grace / 1000,
          'preStop + shutdown.grace fit before SIGKILL',
        );
      });

      it('the Deployment selects its pods', () => {
        const labels = v.deployment.spec.template.metadata.labels;
        for (const [k, val] of Object.entries(v.deployment.spec.selector.matchLabels)) assert.equal(labels[k], val);
      });

      // Issue 15 item 14: OPA's API has no authentication here; whoever reaches it can replace the policy.
      it("OPA's API stays on loopback with no Service; probes use its read-only diagnostic address", () => {
        const addr = flag(v.opa, 'addr') ?? assert.fail('OPA has no --addr (its default differs between versions)');
        assert.match(addr, /^(127\.0\.0\.1|localhost|\[::1\]):8181$/, `OPA's API on ${addr}`);
        const routes = v.docs.filter((d) => d.kind === 'Service' || d.kind === 'Ingress');
        assert.deepEqual(routes, [], 'nothing routes to OPA');
        const diag = flag(v.opa, 'diagnostic-addr') ?? assert.fail('OPA has no --diagnostic-addr for the probes');
        const diagPort = Number(diag.split(':').pop());
        for (const p of ['readinessProbe', 'livenessProbe']) assert.equal(probePort(v.opa, v.opa[p]), diagPort, p);
        const opaPorts = ((v.opa.ports ?? []) as Obj[]).map((p) => p.containerPort);
        assert.deepEqual(opaPorts, [diagPort], 'only the diagnostic port is declared');
      });

      it('a NetworkPolicy admits only named sources, to the metrics and diagnostic ports', () => {
        const labels = v.deployment.spec.template.metadata.labels;
        const pols = v.docs.filter((d) => d.kind === 'NetworkPolicy');
        const matches = (sel: Obj) => Object.entries(sel ?? {}).every(([k, x]) => labels[k] === x);
        const selects = (d: Obj) => matches(d.spec.podSelector.matchLabels);
        const pol = pols.find(selects);
        assert.ok(pol, 'a NetworkPolicy selects the pod');
        assert.ok((pol.spec.policyTypes as string[]).includes('Ingress'));
        const metricsPort = parseListen(podConfig(v).metrics.listen).port;
        const diagPort = Number(flag(v.opa, 'diagnostic-addr')!.split(':').pop());
        const ports = new Set<number>();
        for (const rule of pol.spec.ingress as Obj[]) {
          assert.ok(Array.isArray(rule.from) && rule.from.length > 0, 'every rule names its sources (no from: anyone)');
          assert.ok(Array.isArray(rule.ports) && rule.ports.length > 0, 'every rule names its ports');
          for (const p of rule.ports as Obj[]) ports.add(p.port);
        }
        assert.deepEqual([...ports].sort(), [metricsPort, diagPort].sort());
      });

      it('images are pinned by digest; a placeholder digest is marked and docs/deploy.md says how to fill it', () => {
        const text = readFileSync(v.file, 'utf8');
        for (const c of v.pod.containers as Obj[]) {
          const m = /^[^@\s]+:[^@\s]+@sha256:([0-9a-f]{64})$/.exec(c.image);
          assert.ok(m, `${c.name}: ${c.image} has no tag@sha256 digest`);
          if (/^0+$/.test(m[1]!)) {
            const lines = text.split('\n');
            const at = lines.findIndex((l) => l.includes(c.image));
            const marked = lines.slice(Math.max(0, at - 4), at).some((l) => /#.*PLACEHOLDER digest/.test(l));
            assert.ok(marked, `${c.name}: placeholder not marked`);
          }
        }
        const guide = readFileSync(DEPLOY_DOC, 'utf8');
        assert.ok(guide.includes('### Pinning images'), 'docs/deploy.md "Pinning images"');
        assert.match(guide, /docker buildx imagetools inspect/);
      });

      // Only the upload variant has an opa_service input (the stderr one tails a file).
      if (podConfig(v).inputs[0]!.type !== 'opa_service') return;
      it('the opa_service token comes from one Secret, in both containers', () => {
        const input = podConfig(v).inputs[0]!;
        assert.ok(input.type === 'opa_service');
        const rawInput = (parseYaml(v.configText) as Obj).inputs[0];
        const envVar = (text: unknown) => /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(String(text))?.[1];
        const ours = envVar(rawInput.token) ?? assert.fail('input token is not ${VAR}');
        assert.ok(input.token !== undefined && input.token.length >= 16);
        const oc = opaConfig(v);
        const services = opaServices(oc);
        const bearer = services[oc.decision_logs.service].credentials?.bearer?.token;
        assert.ok(bearer, 'OPA sends a bearer token');
        const theirs = envVar(bearer) ?? assert.fail("OPA's token is not ${VAR} (OPA substitutes its env)");
        const ref = secretRef(v.tailseal, ours) ?? assert.fail(`tailseal's ${ours} is not from a Secret`);
        assert.equal(secretRef(v.opa, theirs), ref, 'OPA reads the same Secret key');
        assert.equal(containerEnv(v.opa)[theirs], input.token, 'so both sides hold the same token');
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Running a deployment's command line against the repository's CLI

interface Run extends DaemonProc {
  metricsPort(): number;
}

function startCli(args: string[], env: NodeJS.ProcessEnv, readOnly?: { writable: string[]; probe: string }): Run {
  const argv = [CLI, ...args];
  // In a private mount namespace: the writable directories bound onto themselves, then the root
  // (and /tmp, /var/tmp when they are mounts of their own) remounted read-only, as in the image;
  // `probe`, a path outside the writable directories, must then refuse to be created.
  const child: ChildProcess = readOnly
    ? spawn(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          RO_SCRIPT,
          'sh',
          readOnly.probe,
          String(readOnly.writable.length),
          ...readOnly.writable,
          process.execPath,
          ...argv,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env },
      )
    : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: string[] = [];
  const collect = (buf: Buffer) =>
    logs.push(
      ...buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((res) =>
    child.on('close', (code, signal) => res(code ?? (signal ? -1 : null))),
  );
  const d: Run = {
    child,
    logs,
    exited,
    metricsPort: () => {
      const listen = logsWith(d, 'Metrics and health endpoints listening.')[0]?.listen;
      return typeof listen === 'string' ? Number(listen.split(':').pop()) : NaN;
    },
  };
  return d;
}

const RO_SCRIPT = `set -e
probe=$1; n=$2; shift 2
while [ "$n" -gt 0 ]; do mount --bind "$1" "$1"; shift; n=$((n-1)); done
for m in / /tmp /var/tmp; do
  if awk -v m="$m" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts; then mount -o remount,bind,ro "$m"; fi
done
if touch "$probe" 2>/dev/null; then echo "read-only root not in effect: created $probe" >&2; exit 97; fi
exec "$@"`;

/** Why a read-only root cannot be reproduced here, or null when it can. */
function readOnlyUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root: no private mount namespace';
  const probe = join(tmpdir(), `tailseal-ro-probe-${process.pid}`);
  const r = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', `mount -o remount,bind,ro / && ! touch ${probe} 2>/dev/null`],
    { encoding: 'utf8' },
  );
  rmSync(probe, { force: true });
  return r.status === 0 ? null : `unshare/mount not permitted here (${(r.stderr || r.error?.message || '').trim()})`;
}

async function healthz(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.text() };
}

// ---------------------------------------------------------------------------------------------
// The real OPA, for the upload variant: its ConfigMap's config (the bearer token from the Secret's
// variable, substituted by OPA) must get its decisions accepted by tailseal's input.

const OPA_BIN = toolFromEnv('TAILSEAL_TEST_OPA') ?? onPath('opa');

/** Runs OPA with the variant's config and policy, asks one decision, and waits for its upload. */
async function realOpaUploads(v: Variant, bin: string, root: string, receiverPort: number): Promise<void> {
  const oc = opaConfig(v);
  const service = opaServices(oc)[oc.decision_logs.service];
  const url = new URL(service.url);
  url.port = String(receiverPort);
  service.url = url.toString().replace(/\/$/, '');
  const dir = join(root, 'opa');
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'opa.yaml'), stringify(oc));
  const policy = v.docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'opa-policy');
  assert.ok(policy, 'no ConfigMap opa-policy');
  for (const [name, text] of Object.entries(policy.data as Record<string, string>)) {
    writeFileSync(join(dir, 'policies', name), text);
  }
  const apiPort = await freePort();
  const args = ['run', '--server', `--addr=127.0.0.1:${apiPort}`, `--config-file=${join(dir, 'opa.yaml')}`];
  const env = { PATH: process.env.PATH, ...containerEnv(v.opa) }; // the Secret's token, as in the pod
  const opa = spawn(bin, [...args, join(dir, 'policies')], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const out: string[] = [];
  opa.stdout.on('data', (b: Buffer) => out.push(b.toString()));
  opa.stderr.on('data', (b: Buffer) => out.push(b.toString()));
  const exited = new Promise((res) => opa.on('close', res));
  try {
    const query = async () => {
      try {
        const body = '{"input":{"method":"GET"}}';
        const res = await fetch(`http://127.0.0.1:${apiPort}/v1/data/authz/allow`, { method: 'POST', body });
        return res.status === 200;
      } catch {
        return false; // not listening yet
      }
    };
    const deadline = Date.now() + 20_000;
    while (!(await query())) {
      assert.ok(Date.now() < deadline && opa.exitCode === null, `OPA did not answer: ${out.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => out.join('').includes('Logs uploaded successfully.'), `OPA's upload: ${out.join('')}`);
  } finally {
    opa.kill('SIGKILL');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Stage {
  from: string;
  instructions: { op: string; args: string }[];
}

/** The Dockerfile's global ARGs (before the first FROM) with their defaults. */
const globalArgs: Record<string, string> = {};

/** The Dockerfile's stages and instructions (comments dropped, `\` continuations joined). */
function dockerStages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const l of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(l) ?? assert.fail(`Dockerfile line: ${l}`);
    const OP = op!.toUpperCase();
    if (OP === 'FROM') stages.push({ from: args!, instructions: [] });
    else if (OP === 'ARG' && stages.length === 0) {
      const [, k, val] = /^(\w+)=(\S+)$/.exec(args!) ?? assert.fail(`global ARG ${args}: a default is expected`);
      globalArgs[k!] = val!;
    } else {
      const stage = stages.at(-1) ?? assert.fail('instruction before FROM');
      stage.instructions.push({ op: OP, args: args!.replace(/\s+/g, ' ') });
    }
  }
  return stages;
}

function execForm(args: string): string[] {
  const a = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(a) && a.every((x) => typeof x === 'string'), `exec form expected: ${args}`);
  return a as string[];
}

describe('Dockerfile', () => {
  const stages = dockerStages(readFileSync(DOCKERFILE, 'utf8'));
  const runtime = stages.at(-1)!;
  const last = (op: string) =>
    runtime.instructions.filter((i) => i.op === op).at(-1)?.args ?? assert.fail(`runtime stage has no ${op}`);
  const env = Object.fromEntries(
    runtime.instructions
      .filter((i) => i.op === 'ENV')
      .map((i) => /^(\w+)=(\S*)$/.exec(i.args) ?? assert.fail(`ENV ${i.args}: one KEY=value expected`))
      .map((m) => [m[1]!, m[2]!]),
  );
  const entrypoint = execForm(last('ENTRYPOINT'));
  const cmd = execForm(last('CMD'));
  const workdir = last('WORKDIR');

  it('base images come from one build argument, documented with how to pin it by digest', () => {
    for (const st of stages) assert.match(st.from, /^\$\{NODE_IMAGE\}( AS \w+)?$/i, `FROM ${st.from}`);
    assert.match(globalArgs.NODE_IMAGE ?? assert.fail('no ARG NODE_IMAGE'), /^node:20-/);
    const text = readFileSync(DOCKERFILE, 'utf8');
    assert.match(text, /--build-arg NODE_IMAGE=node:\S+@sha256:<digest>/, 'the Dockerfile shows the pinned form');
    assert.match(readFileSync(DEPLOY_DOC, 'utf8'), /--build-arg NODE_IMAGE=/);
  });

  it('is multi-stage, runs as a numeric non-root user, and copies only files that exist', () => {
    assert.ok(stages.length >= 2, 'a builder stage and a runtime stage');
    assert.match(last('USER'), /^[1-9]\d*(:\d+)?$/, 'numeric, so runAsNonRoot can check it');
    for (const s of stages) {
      for (const i of s.instructions.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
        const srcs = i.args.split(' ').slice(0, -1);
        for (const src of srcs) assert.ok(existsSync(join(REPO_ROOT, src)), `COPY ${src}: not in the repository`);
      }
    }
    assert.ok(
      !stages[0]!.instructions.some((i) => i.op === 'RUN' && /npm install(?! -g)/.test(i.args)),
      'the builder installs from the lockfile (npm ci)',
    );
  });

  it('ENTRYPOINT is the `tailseal` command, linked on PATH to the CLI the image copies', () => {
    assert.deepEqual(entrypoint, ['tailseal']);
    const link =
      runtime.instructions.find((i) => i.op === 'RUN' && / ln -s /.test(` ${i.args}`))?.args ??
      assert.fail('no `ln -s` makes the tailseal command');
    const [, target, at] = /ln -s (\S+) (\S+)/.exec(link)!;
    assert.equal(at, '/usr/local/bin/tailseal');
    assert.equal(posix.relative(workdir, target!), 'dist/src/cli/main.js');
    assert.ok(
      runtime.instructions.some((i) => i.op === 'COPY' && / \.\/dist\/src$/.test(i.args)),
      'dist/src is copied into the workdir',
    );
    assert.ok(
      stages[0]!.instructions.some((i) => i.op === 'RUN' && /chmod 0?755 dist\/src\/cli\/main\.js/.test(i.args)),
      'the CLI is made executable for the link',
    );
    assert.match(readFileSync(CLI, 'utf8').split('\n')[0]!, /^#!\/usr\/bin\/env node$/);
  });

  it("bounds V8's young generation (NODE_OPTIONS), as the systemd unit does", () => {
    // Without it the semi-spaces grow to 16 MiB each under load: ~20 MB more RSS (docs/benchmarks.md).
    assert.match(env.NODE_OPTIONS ?? assert.fail('no ENV NODE_OPTIONS'), /^--max-semi-space-size=\d+$/);
    const unit = unitSettings(readFileSync(UNIT_FILE, 'utf8'));
    assert.deepEqual(unit.get('Service.Environment'), [`NODE_OPTIONS=${env.NODE_OPTIONS}`]);
  });

  it('the systemd example config runs in the image as it is (docs/deploy.md: docker run with it)', () => {
    const c = parseConfig(parseYaml(readFileSync(SYSTEMD_CONFIG, 'utf8')), SYSTEMD_CONFIG, {});
    const volume = execForm(last('VOLUME'));
    assert.deepEqual([c.state_dir], volume, 'state_dir is the image volume');
    assert.equal(env.SQLITE_TMPDIR, c.state_dir);
    const configPath = cmd[cmd.indexOf('--config') + 1]!;
    assert.equal(
      dirname(c.signing.key_file!),
      dirname(configPath),
      'the key sits beside the config in one mounted directory',
    );
    assert.equal(new URL(env.TAILSEAL_HEALTH_URL!).port, String(parseListen(c.metrics.listen).port));
  });

  for (const f of variants) {
    it(
      `ENTRYPOINT + CMD run the ${f} pod config on a read-only root; HEALTHCHECK passes, then fails once stopped`,
      { timeout: 60_000 },
      async (t) => {
        const v = loadVariant(join(K8S_DIR, f));
        assert.deepEqual(v.tailseal.args, cmd, "the pod runs the image's default command");
        const root = mkdtempSync(join(tmpdir(), 'tailseal-deploy-'));
        try {
          // The image's paths, mapped into the temp directory: the state volume, the config
          // volume, the key Secret, the sink (a local directory standing in for S3).
          const state = join(root, 'var-lib-tailseal');
          const store = join(root, 'store');
          const opaLogs = join(root, 'opa-logs');
          for (const d of [state, store, opaLogs]) mkdirSync(d, { recursive: true });
          const pod = podConfig(v);
          assert.equal(pod.state_dir, '/var/lib/tailseal');
          const keyFile = join(root, 'secret', 'tailseal.key');
          writeKeyPair(keyFile, 'opa.example.com');
          chmodSync(keyFile, v.pod.volumes.find((x: Obj) => x.secret).secret.defaultMode); // as the kubelet mounts it
          const metricsPort = await freePort();
          const receiverPort = await freePort();
          assert.equal(
            new URL(env.TAILSEAL_HEALTH_URL!).port,
            String(parseListen(pod.metrics.listen).port),
            "the image's health URL dials the pod's metrics port",
          );
          const raw = parseYaml(v.configText) as Obj;
          raw.state_dir = state;
          raw.signing.key_file = keyFile;
          raw.sinks = [{ name: raw.sinks[0].name, type: 'file', dir: store }];
          raw.metrics.listen = `127.0.0.1:${metricsPort}`;
          const input = raw.inputs[0];
          if (input.type === 'opa_service') input.listen = `127.0.0.1:${receiverPort}`;
          else input.paths = input.paths.map((p: string) => join(opaLogs, basename(p)));
          const configFile = join(root, 'etc-tailseal', basename(v.configPath));
          mkdirSync(dirname(configFile));
          writeFileSync(configFile, stringify(raw));
          const args = cmd.map((a) => (a === v.configPath ? configFile : a));
          const imageEnv = {
            ...env,
            SQLITE_TMPDIR: env.SQLITE_TMPDIR === '/var/lib/tailseal' ? state : env.SQLITE_TMPDIR!,
            TAILSEAL_HEALTH_URL: `http://127.0.0.1:${metricsPort}/healthz`,
          };
          const processEnv = { PATH: process.env.PATH, ...imageEnv, ...v.env };
          const ro = readOnlyUnavailable();
          if (ro) t.diagnostic(`read-only root not reproduced: ${ro}`);
          const d = startCli(
            args,
            processEnv,
            ro ? undefined : { writable: [state, store], probe: join(root, 'probe') },
          );
          try {
            await waitFor(
              () => logsWith(d, 'tailseal running.').length === 1 || d.child.exitCode !== null,
              'tailseal running.',
            );
            assert.equal(logsWith(d, 'tailseal running.').length, 1, d.logs.join('\n'));
            if (input.type === 'opa_service') {
              const url = `http://127.0.0.1:${receiverPort}${input.resource ?? '/logs'}`;
              const token = pod.inputs[0]!.type === 'opa_service' ? pod.inputs[0]!.token : undefined;
              const r = await upload(url, [event('d-1'), event('d-2')], { ...(token === undefined ? {} : { token }) });
              assert.deepEqual([r.status, r.body], [200, '{"accepted":2}']);
              // Last: a refused request's unread body makes the receiver drop its connection, which the
              // client's keep-alive pool would otherwise hand to the next upload.
              assert.equal((await upload(url, [event('d-0')])).status, 401, 'an upload without the token is refused');
              // A subtest, so that the summary counts it as skipped without OPA.
              const noOpa = 'real OPA not run: set TAILSEAL_TEST_OPA to an opa binary (or put opa on PATH)';
              await t.test('the real OPA uploads with this config', { skip: OPA_BIN ? false : noOpa }, () =>
                realOpaUploads(v, OPA_BIN!, root, receiverPort),
              );
            } else {
              writeFileSync(join(opaLogs, 'opa.log'), `${decisionLine(0, prng(9))}\n${decisionLine(1, prng(10))}\n`);
            }
            const want = input.type === 'opa_service' && OPA_BIN ? 3 : 2;
            await waitFor(() => storedDecisions(store).length === want, `${want} decisions in the store`);
            const hc = execForm(last('HEALTHCHECK').replace(/^(--\S+ )*CMD /, ''));
            const healthy = spawnSync(hc[0]!, hc.slice(1), { env: processEnv, encoding: 'utf8', timeout: 10_000 });
            assert.equal(healthy.status, 0, `HEALTHCHECK: ${healthy.stderr}`);
            d.child.kill('SIGTERM');
            assert.equal(await d.exited, 0, d.logs.join('\n'));
            const unhealthy = spawnSync(hc[0]!, hc.slice(1), { env: processEnv, encoding: 'utf8', timeout: 10_000 });
            assert.equal(unhealthy.status, 1, 'HEALTHCHECK fails with nothing listening');
            assert.equal(cli(['verify', '--store', store, '--public-key', `${keyFile}.pub`]).status, 0);
            const stray = logsWith(d, '').filter((l) => Number(l.level) >= 50);
            assert.deepEqual(stray, [], 'no error logged (a write outside the volumes would be one)');
          } finally {
            if (d.child.exitCode === null) d.child.kill('SIGKILL');
            await d.exited;
          }
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      },
    );
  }
});

// ---------------------------------------------------------------------------------------------
// systemd

/** The unit's `Key=value` settings per section (a key may repeat). */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(l);
    if (s) {
      section = s[1]!;
      continue;
    }
    const m = /^([A-Za-z]+)=(.*)$/.exec(l) ?? assert.fail(`unit line: ${l}`);
    const key = `${section}.${m[1]}`;
    out.set(key, [...(out.get(key) ?? []), m[2]!]);
  }
  return out;
}

/** systemd's time span: `30s`, `1min`, `500ms`, a bare number is seconds. */
function timespanMs(v: string): number {
  const m = /^(\d+)\s*(ms|s|sec|min|m)?$/.exec(v) ?? assert.fail(`time span ${v}`);
  return Number(m[1]) * ({ ms: 1, s: 1000, sec: 1000, min: 60_000, m: 60_000 }[m[2] ?? 's'] ?? 1000);
}

describe('deploy/systemd', () => {
  const unitText = readFileSync(UNIT_FILE, 'utf8');
  const unit = unitSettings(unitText);
  const one = (k: string) => (unit.get(k) ?? assert.fail(`${k} is not set`)).at(-1)!;
  const execStart = one('Service.ExecStart').split(/\s+/);
  const analyze = onPath('systemd-analyze');

  it(
    'systemd-analyze verify accepts the unit',
    { skip: analyze ? false : 'systemd-analyze is not installed (Debian package `systemd`)' },
    () => {
      // verify insists that ExecStart's program exists; the real one appears with `npm install -g`,
      // so a stand-in takes its place in a copy of the unit, everything else as it is.
      const dir = mkdtempSync(join(tmpdir(), 'tailseal-unit-'));
      try {
        const standIn = join(dir, 'tailseal');
        writeFileSync(standIn, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
        writeFileSync(
          join(dir, 'tailseal.service'),
          unitText.replace(`ExecStart=${execStart[0]} `, `ExecStart=${standIn} `),
        );
        const r = spawnSync(analyze!, ['verify', join(dir, 'tailseal.service')], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr.trim(), '', 'no warnings');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('MemoryMax= has headroom over the benchmark peaks; OPA logs are read through their own group, not adm', () => {
    const bytes = (v: string) => {
      const m = /^(\d+)([KMG])?$/.exec(v) ?? assert.fail(`memory size ${v}`);
      return Number(m[1]) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] ?? ''] ?? 1);
    };
    const max = bytes(one('Service.MemoryMax'));
    assert.ok(max >= 2 * 210e6, 'at least twice the ~210 MB http-sink backlog peak (docs/benchmarks.md)');
    assert.ok(max <= 2 * 1024 ** 3, 'still a bound');
    const high = unit.get('Service.MemoryHigh')?.at(-1);
    if (high) assert.ok(bytes(high) < max, 'MemoryHigh= throttles before MemoryMax= kills');
    const groups = (unit.get('Service.SupplementaryGroups') ?? [])
      .join(' ')
      .split(/\s+/)
      .filter((g) => g !== '');
    assert.ok(!groups.includes('adm'), 'adm reads every system log');
    assert.equal(groups.length, 1, "one group, for OPA's logs");
    const guide = readFileSync(DEPLOY_DOC, 'utf8');
    assert.ok(guide.includes(`groupadd --system ${groups[0]}`), 'docs/deploy.md creates the group');
    assert.ok(guide.includes(`-g ${groups[0]} /var/log/opa`), "and gives it OPA's log directory");
  });

  it('the unit is hardened as documented', () => {
    for (const [k, want] of Object.entries({
      DynamicUser: 'yes',
      StateDirectory: 'tailseal',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      Restart: 'on-failure',
      ReadOnlyPaths: '/var/log/opa',
    })) {
      assert.equal(one(`Service.${k}`), want, k);
    }
    assert.equal(execStart[0], '/usr/local/bin/tailseal', 'where `npm install -g --prefix /usr/local` links it');
    const installs = readFileSync(DEPLOY_DOC, 'utf8').includes('npm install -g --prefix /usr/local');
    assert.ok(installs, 'docs/deploy.md installs it there');
  });

  it(
    'ExecStart runs the example config with the credential and state directory systemd provides; ExecReload ' +
      'reloads; stop is clean within TimeoutStopSec',
    { timeout: 60_000 },
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'tailseal-systemd-'));
      try {
        // What systemd provides: $STATE_DIRECTORY (StateDirectory=) and $CREDENTIALS_DIRECTORY
        // holding LoadCredential='s copy of the key, readable by the service user only.
        const [credId, credSource] = one('Service.LoadCredential').split(':');
        assert.equal(credSource, '/etc/tailseal/signing.key');
        const creds = join(root, 'credentials');
        writeKeyPair(join(creds, credId!), 'opa.example.com/vm-1');
        chmodSync(join(creds, credId!), 0o440); // mode as seen where systemd grants access with an ACL
        const stateDir = join(root, 'state', one('Service.StateDirectory'));
        mkdirSync(stateDir, { recursive: true });
        const env = { ...process.env, STATE_DIRECTORY: stateDir, CREDENTIALS_DIRECTORY: creds };
        const configPath = execStart[execStart.indexOf('--config') + 1]!;
        assert.equal(configPath, '/etc/tailseal/tailseal.yaml');

        const raw = parseYaml(readFileSync(SYSTEMD_CONFIG, 'utf8')) as Obj;
        const loaded = parseConfig(raw, SYSTEMD_CONFIG, env);
        assert.equal(loaded.state_dir, stateDir);
        assert.equal(loaded.signing.key_file, join(creds, credId!));
        assert.equal(
          parseConfig(raw, SYSTEMD_CONFIG, {}).signing.key_file,
          credSource,
          'outside the unit (tailseal status from a shell) the key path is the source file',
        );
        assert.ok(
          loaded.inputs.every(
            (i) => i.type === 'file' && i.paths.every((p) => p.startsWith(`${one('Service.ReadOnlyPaths')}/`)),
          ),
          'inputs read what ReadOnlyPaths= exposes',
        );
        assert.ok(
          timespanMs(one('Service.TimeoutStopSec')) > loaded.shutdown.grace + 5000,
          'TimeoutStopSec leaves room beyond shutdown.grace',
        );

        // The example config with its site-specific parts pointed at temp dirs: OPA's logs, and a
        // local directory standing in for the S3 bucket.
        const opaDir = join(root, 'opa');
        const store = join(root, 'store');
        mkdirSync(opaDir);
        raw.inputs[0].paths = [join(opaDir, '*.log')];
        raw.sinks = [{ name: raw.sinks[0].name, type: 'file', dir: store }];
        raw.metrics.listen = '127.0.0.1:0';
        const configCopy = join(root, 'tailseal.yaml');
        writeFileSync(configCopy, stringify(raw));
        const args = execStart.slice(1).map((a) => (a === configPath ? configCopy : a));

        const d = startCli(args, env);
        try {
          await waitFor(
            () => logsWith(d, 'tailseal running.').length === 1 || d.child.exitCode !== null,
            'tailseal running.',
          );
          assert.equal(logsWith(d, 'tailseal running.').length, 1, d.logs.join('\n'));
          writeFileSync(join(opaDir, 'opa.log'), `${decisionLine(0, prng(3))}\n`);
          await waitFor(() => storedDecisions(store).length === 1, 'the decision in the store');
          assert.deepEqual(await healthz(d.metricsPort()), { status: 200, body: 'ok\n' });

          const reload = one('Service.ExecReload').split(/\s+/);
          assert.deepEqual([reload[0], reload[2]], ['/bin/kill', '$MAINPID']);
          d.child.kill(`SIG${reload[1]!.replace(/^-(SIG)?/, '')}` as NodeJS.Signals);
          await waitFor(() => logsWith(d, 'Config reloaded.').length === 1, 'Config reloaded.');

          const started = Date.now();
          d.child.kill((unit.get('Service.KillSignal')?.at(-1) ?? 'SIGTERM') as NodeJS.Signals);
          assert.equal(await d.exited, 0, d.logs.join('\n'));
          assert.ok(Date.now() - started < timespanMs(one('Service.TimeoutStopSec')));
        } finally {
          if (d.child.exitCode === null) d.child.kill('SIGKILL');
          await d.exited;
        }

        // RestartPreventExitStatus=2: a config error exits 2, and restarting would not help.
        const bad = join(root, 'bad.yaml');
        copyFileSync(configCopy, bad);
        writeFileSync(bad, `${readFileSync(bad, 'utf8')}unknown_key: 1\n`);
        assert.equal(cli(['run', '--config', bad]).status, Number(one('Service.RestartPreventExitStatus')));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
