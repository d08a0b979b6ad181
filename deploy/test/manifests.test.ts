import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/local/paths.js';
import { CHAT_SERVICE_NODE_FLAGS, GATEWAY_NODE_FLAGS, GATEWAY_PROCESS_ENV } from '../src/local/topology.js';
import { composeProblems, consistencyProblems, dockerfileProblems, readManifests, schemaProblems, type K8sObject } from './support/manifest-checks.js';

// Deployment artifacts checked without a cluster or a container engine: Kubernetes objects against
// the Kubernetes schemas, compose.yml against the Compose Specification schema, Dockerfiles against
// the project's rules. Each check is also shown to refuse a broken copy.
const K8S = join(REPO_ROOT, 'deploy/k8s');
const COMPOSE = join(REPO_ROOT, 'deploy/compose.yml');
const DOCKER = join(REPO_ROOT, 'deploy/docker');
const scratch = mkdtempSync(join(tmpdir(), 'manifests-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const allSchemaProblems = async (objects: K8sObject[]) => (await Promise.all(objects.map(schemaProblems))).flat();

describe('Kubernetes manifests (deploy/k8s)', () => {
  const objects = readManifests(K8S);
  const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
  const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };

  it('every object is valid against the Kubernetes schema of its apiVersion and kind', async () => {
    expect(await allSchemaProblems(objects)).toEqual([]);
  });

  it('hold the workloads the system needs: probes on the internal port, a gateway preStop drain, PDBs, an HPA for gateways, Services, ConfigMap and Secret layout', () => {
    expect(consistencyProblems(objects, kustomization, files)).toEqual([]);
    const kinds = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    expect(kinds('Deployment')).toEqual(['chat-api', 'chat-workers', 'gateway', 'notifier', 'presence']);
    expect(kinds('PodDisruptionBudget')).toEqual(['chat-api', 'chat-workers', 'gateway', 'notifier', 'presence']);
    expect(kinds('HorizontalPodAutoscaler')).toEqual(['gateway']);
    expect(kinds('Service')).toEqual(['chat-api', 'chat-api-internal', 'gateway', 'presence']);
    expect(kinds('ConfigMap')).toEqual(['chat-config', 'chat-jwt-keys']);
    expect(kinds('Secret')).toEqual(['chat-fcm', 'chat-secrets']);
    const gateway = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway') as unknown as {
      spec: {
        template: {
          spec: { terminationGracePeriodSeconds: number; containers: { lifecycle?: { preStop?: unknown }; env: { name: string; value?: string }[] }[] };
        };
      };
    };
    const pod = gateway.spec.template.spec;
    expect(pod.containers[0]!.lifecycle?.preStop).toBeDefined();
    // The grace period covers the preStop pause and the drain.
    const drainMs = Number(pod.containers[0]!.env.find((e) => e.name === 'DRAIN_TIMEOUT_MS')?.value);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(10_000 + drainMs);
    // Kafka, Cassandra and Redis are external clusters: addresses in configuration, nothing deployed.
    expect(objects.filter((o) => o.kind === 'StatefulSet')).toEqual([]);
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'chat-config') as unknown as { data: Record<string, string> };
    expect(Object.keys(config.data)).toEqual(expect.arrayContaining(['KAFKA_BROKERS', 'CASSANDRA_CONTACT_POINTS']));
    expect(config.data.NODE_ENV).toBe('production');
  });

  it('runs presence-service as two replicas in Kubernetes, updated one pod at a time', () => {
    const presence = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'presence') as unknown as {
      spec: { replicas: number; strategy: { type: string; rollingUpdate?: { maxUnavailable?: number } } };
    };
    expect(presence.spec.replicas).toBe(2);
    expect(presence.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
  });

  it('refuses broken objects: a wrong type, a missing required field, an unknown kind, a probe on the public port', async () => {
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway')!);
    const wrongType = structuredClone(deployment);
    (wrongType.spec as { replicas: unknown }).replicas = 'three';
    const noContainers = structuredClone(deployment);
    delete (noContainers.spec as { template: { spec: { containers?: unknown } } }).template.spec.containers;
    const unknownKind = { ...structuredClone(deployment), kind: 'Deploymnet' };
    expect(await schemaProblems(wrongType)).not.toEqual([]);
    expect(await schemaProblems(noContainers)).not.toEqual([]);
    expect(await schemaProblems(unknownKind)).not.toEqual([]);
    const publicProbe = structuredClone(deployment);
    const container = (publicProbe.spec as { template: { spec: { containers: { readinessProbe: { httpGet: { port: string } } }[] } } }).template.spec
      .containers[0]!;
    container.readinessProbe.httpGet.port = 'ws';
    expect(
      consistencyProblems(
        [...objects.filter((o) => o !== objects.find((x) => x.kind === 'Deployment' && x.metadata.name === 'gateway')), publicProbe],
        kustomization,
        files,
      ),
    ).not.toEqual([]);
  });
});

describe('compose.yml', () => {
  it('is valid against the Compose Specification schema and its references resolve', () => {
    expect(composeProblems(COMPOSE, REPO_ROOT)).toEqual([]);
  });

  it('runs the whole system: infrastructure, bootstrap, chat-service roles, two presence instances, notifier and two gateways', () => {
    const compose = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
    expect(Object.keys(compose.services).sort()).toEqual([
      'cassandra',
      'chat-api',
      'chat-workers',
      'gw-1',
      'gw-2',
      'kafka',
      'migrate',
      'notifier',
      'presence-1',
      'presence-2',
      'redis',
      's3',
    ]);
    // Every gateway lists both presence instances.
    for (const gw of ['gw-1', 'gw-2']) {
      expect(compose.services[gw]!.environment?.PRESENCE_SERVICE_URL).toBe('http://presence-1:8083,http://presence-2:8083');
    }
  });

  it('refuses a broken copy: an unknown key, a wrong type, a dangling depends_on', () => {
    const text = readFileSync(COMPOSE, 'utf8');
    const broken = [
      text.replace('  redis:\n    image: redis:7.0', '  redis:\n    imagee: redis:7.0'),
      text.replace('      retries: 30\n', '      retries: "thirty"\n'),
      text.replace('migrate: { condition: service_completed_successfully }', 'migrat: { condition: service_completed_successfully }'),
    ];
    for (const [i, copy] of broken.entries()) {
      expect(copy).not.toBe(text);
      const file = join(scratch, `compose-${i}.yml`);
      writeFileSync(file, copy);
      expect(composeProblems(file, REPO_ROOT), `broken copy ${i}`).not.toEqual([]);
    }
  });
});

describe('Dockerfiles (deploy/docker)', () => {
  const dockerfiles = readdirSync(DOCKER)
    .filter((f) => f.endsWith('.Dockerfile'))
    .sort();

  it('one per service plus the bootstrap, each multi-stage with a non-root final stage', () => {
    expect(dockerfiles).toEqual(['chat-service.Dockerfile', 'gateway.Dockerfile', 'migrate.Dockerfile', 'notifier.Dockerfile', 'presence-service.Dockerfile']);
    expect(dockerfiles.flatMap((f) => dockerfileProblems(join(DOCKER, f)))).toEqual([]);
  });

  it.each([
    ['gateway', GATEWAY_NODE_FLAGS, ['gateway.yaml'], ['gw-1']],
    ['chat-service', CHAT_SERVICE_NODE_FLAGS, ['chat-api.yaml', 'chat-workers.yaml'], ['chat-api', 'chat-workers']],
  ] as const)(
    'the %s image runs node with the V8 flags the local topology and the benchmarks use (compose and Kubernetes run its CMD)',
    (image, flags, k8sFiles, composeServices) => {
      const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(DOCKER, `${image}.Dockerfile`), 'utf8'))?.[1];
      expect(JSON.parse(cmd ?? 'null')).toEqual(['node', '--enable-source-maps', ...flags, `${image}/dist/main.js`]);
      // Neither Kubernetes nor compose overrides the image's command.
      for (const f of k8sFiles) expect(readFileSync(join(K8S, f), 'utf8')).not.toMatch(/^\s*(command|args):/m);
      const services = parse(readFileSync(COMPOSE, 'utf8')).services;
      for (const name of composeServices) {
        expect(services[name]).toBeDefined();
        expect(services[name].command).toBeUndefined();
      }
    },
  );

  it('the gateway image sets the environment the local topology and the benchmarks give gateways', () => {
    const dockerfile = readFileSync(join(DOCKER, 'gateway.Dockerfile'), 'utf8');
    for (const [k, v] of Object.entries(GATEWAY_PROCESS_ENV)) expect(dockerfile).toMatch(new RegExp(`^ENV ${k}=${v}$`, 'm'));
  });

  it('refuses a Dockerfile whose final stage runs as root', () => {
    const file = join(scratch, 'root.Dockerfile');
    writeFileSync(file, readFileSync(join(DOCKER, 'gateway.Dockerfile'), 'utf8').replace('USER node', 'USER root'));
    expect(dockerfileProblems(file)).toEqual(['root.Dockerfile: the final stage does not switch to a non-root USER']);
  });
});
