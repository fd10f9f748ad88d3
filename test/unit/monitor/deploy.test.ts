// deploy/kubernetes/monitor/monitor.yaml: the monitor's Deployment, its ConfigMaps and volume line
// up with each other, and its config loads with the monitor's real config loader.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseListen } from '../../../src/common/units.js';
import { parseMonitorConfig } from '../../../src/monitor/config.js';
import { parseShard } from '../../../src/monitor/shard.js';
import { parseVerifierKeys } from '../../../src/trail/keys.js';
import { REPO_ROOT } from '../../helpers/paths.js';

// Kubernetes documents, checked field by field below.
type Obj = any;

const FILE = join(REPO_ROOT, 'deploy', 'kubernetes', 'monitor', 'monitor.yaml');
const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJS() as Obj);
const byKind = (kind: string, name?: string): Obj =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name)) ??
  assert.fail(`no ${kind} ${name ?? ''}`);
const deployment = byKind('Deployment', 'tailseal-monitor');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const env = Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value as string]));

/** The volume mounted at the folder holding `path`, and the file name in it. */
function mounted(path: string): { volume: Obj; mount: Obj; file: string } {
  const mount =
    (container.volumeMounts as Obj[]).find((m) => posix.dirname(path) === m.mountPath || path === m.mountPath) ??
    assert.fail(`nothing mounted at ${path}`);
  const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name) ?? assert.fail(`no volume ${mount.name}`);
  return { volume, mount, file: path === mount.mountPath ? '' : posix.basename(path) };
}

const configPath = container.args[2] as string;
const configMapOf = (path: string) => {
  const { volume, file } = mounted(path);
  const cm = byKind('ConfigMap', volume.configMap?.name ?? assert.fail(`${path} is not from a ConfigMap`));
  return (cm.data as Record<string, string>)[file] ?? assert.fail(`ConfigMap ${cm.metadata.name} has no ${file}`);
};
const config = parseMonitorConfig(parseAllDocuments(configMapOf(configPath))[0]!.toJS(), 'monitor.yaml', env);

describe('deploy/kubernetes/monitor', () => {
  it('runs the monitor command on the mounted config, which loads with only the container environment', () => {
    assert.deepEqual(container.args.slice(0, 2), ['monitor', '--config']);
    assert.equal(config.stores[0]!.region, env.AWS_REGION);
    assert.match(config.stores[0]!.store, /^s3:\/\//);
  });

  it('every trusted key file is mounted and holds valid verifier keys', () => {
    for (const k of config.keys)
      for (const f of k.files) assert.ok(parseVerifierKeys(configMapOf(f)).length >= 1, `${f} holds a key`);
  });

  it('state_dir is a writable persistent volume; one replica, never two on one monitor.db', () => {
    const { volume, mount, file } = mounted(config.state_dir);
    assert.equal(file, '', 'state_dir is the volume itself');
    assert.notEqual(mount.readOnly, true);
    const claim = volume.persistentVolumeClaim?.claimName ?? assert.fail('state is not on a PersistentVolumeClaim');
    byKind('PersistentVolumeClaim', claim);
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy.type, 'Recreate');
  });

  it('probes and the container port are metrics.listen, on the pod IP', () => {
    const { host, port } = parseListen(config.metrics.listen);
    assert.equal(host, '0.0.0.0', 'the kubelet probes the pod IP');
    const metrics = (container.ports as Obj[]).find((p) => p.name === 'metrics');
    assert.equal(metrics.containerPort, port);
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      assert.equal(probe.httpGet.port, 'metrics');
      assert.equal(probe.httpGet.path, '/healthz');
    }
    assert.equal(env.TAILSEAL_HEALTH_URL, `http://127.0.0.1:${port}/healthz`);
  });

  it('runs as non-root with a read-only root, no privilege escalation and no capabilities', () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  });
});

describe('deploy/kubernetes/monitor/monitor-sharded.yaml', () => {
  const sharded = parseAllDocuments(
    readFileSync(join(REPO_ROOT, 'deploy', 'kubernetes', 'monitor', 'monitor-sharded.yaml'), 'utf8'),
  ).map((d) => d.toJS() as Obj);
  const find = (kind: string): Obj => sharded.find((d) => d.kind === kind) ?? assert.fail(`no ${kind}`);
  const set = find('StatefulSet');
  const c = set.spec.template.spec.containers[0];
  const cEnv = Object.fromEntries((c.env as Obj[]).filter((e) => 'value' in e).map((e) => [e.name, e.value]));
  const cm = sharded.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'tailseal-monitor-config');
  const cfg = parseMonitorConfig(parseAllDocuments(cm.data['monitor.yaml'])[0]!.toJS(), 'monitor.yaml', cEnv);

  it('pod i of n replicas runs --shard i/n, i from the pod-index label: the shards cover every index once', () => {
    const n = set.spec.replicas as number;
    assert.ok(n > 1);
    assert.deepEqual(c.args.slice(0, 3), ['monitor', '--config', '/etc/tailseal-monitor/monitor.yaml']);
    assert.equal(c.args[3], '--shard');
    const index = (c.env as Obj[]).find((e) => e.name === 'SHARD_INDEX');
    assert.equal(index.valueFrom.fieldRef.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
    // Kubernetes expands $(SHARD_INDEX) in args to the pod's index, 0..n-1.
    const shards = Array.from({ length: n }, (_, i) =>
      parseShard(String(c.args[4]).replace('$(SHARD_INDEX)', String(i))),
    );
    assert.deepEqual(
      shards.map((s) => [s.index, s.count]),
      Array.from({ length: n }, (_, i) => [i, n]),
    );
    assert.equal(cfg.shard, undefined, 'the shard comes from --shard, not the shared config');
  });

  it('each pod has its own state volume at state_dir, a governing headless Service, and the same probes', () => {
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === cfg.state_dir) ?? assert.fail('no state');
    assert.ok((set.spec.volumeClaimTemplates as Obj[]).some((t) => t.metadata.name === mount.name));
    const svc = find('Service');
    assert.equal(set.spec.serviceName, svc.metadata.name);
    assert.equal(svc.spec.clusterIP, 'None');
    assert.equal(parseListen(cfg.metrics.listen).host, '0.0.0.0');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(set.spec.template.spec.securityContext.runAsNonRoot, true);
  });
});
