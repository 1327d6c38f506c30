import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { z } from 'zod';

const dir = resolve(import.meta.dirname, '../../deploy/kubernetes');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

function manifests(): { file: string; doc: Manifest }[] {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      out.push({ file, doc: doc.toJS() as Manifest });
    }
  }
  return out;
}

// The Prometheus Operator's CRD is not in kubernetes-models; its required shape is checked here.
const serviceMonitorSchema = z.object({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('ServiceMonitor'),
  metadata: z
    .object({ name: z.string().min(1), labels: z.record(z.string(), z.string()).optional() })
    .strict(),
  spec: z
    .object({
      selector: z.object({ matchLabels: z.record(z.string(), z.string()) }).strict(),
      endpoints: z
        .array(
          z
            .object({
              port: z.string().min(1),
              path: z.string().startsWith('/'),
              interval: z.string().regex(/^\d+[smh]$/),
              scrapeTimeout: z.string().regex(/^\d+[smh]$/),
              authorization: z
                .object({
                  type: z.literal('Bearer'),
                  credentials: z.object({ name: z.string().min(1), key: z.string().min(1) }).strict(),
                })
                .strict()
                .optional(),
            })
            .strict(),
        )
        .min(1),
    })
    .strict(),
});

const MODELS: Record<string, { validate(): void } & (new (data: never) => { validate(): void })> = {
  'v1/Namespace': Namespace as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/Secret': Secret as never,
  'v1/Service': Service as never,
  'apps/v1/Deployment': Deployment as never,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
};

type Container = {
  args?: string[];
  livenessProbe?: { httpGet?: { path?: string } };
  readinessProbe?: { httpGet?: { path?: string } };
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
};
type DeploymentDoc = Manifest & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Container[];
        securityContext?: { runAsNonRoot?: boolean };
        terminationGracePeriodSeconds?: number;
      };
    };
  };
};

describe('the Kubernetes manifests in deploy/kubernetes', () => {
  const all = manifests();
  const byKind = (kind: string) => all.filter((m) => m.doc.kind === kind).map((m) => m.doc);

  it('pass the Kubernetes schema check (kubernetes-models), the ServiceMonitor its CRD shape', () => {
    const problems: string[] = [];
    for (const { file, doc } of all) {
      const key = `${doc.apiVersion}/${doc.kind}`;
      if (key === 'monitoring.coreos.com/v1/ServiceMonitor') {
        const result = serviceMonitorSchema.safeParse(doc);
        if (!result.success) problems.push(`${file} ${key}: ${result.error.message}`);
        continue;
      }
      const Model = MODELS[key];
      if (!Model) {
        problems.push(`${file}: no schema for ${key}`);
        continue;
      }
      try {
        new Model(doc as never).validate();
      } catch (error) {
        problems.push(`${file} ${key} ${doc.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(all.map((m) => `${m.doc.kind}/${m.doc.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/deckhand-config',
        'Deployment/deckhand-web',
        'Deployment/deckhand-worker',
        'HorizontalPodAutoscaler/deckhand-web',
        'Namespace/deckhand',
        'PodDisruptionBudget/deckhand-web',
        'Secret/deckhand-secrets',
        'Service/deckhand-web',
        'Service/deckhand-worker-metrics',
        'ServiceMonitor/deckhand',
      ].sort(),
    );
  });

  it('refuses a manifest with a misspelled field, so the check above is a real one', () => {
    const web = byKind('Deployment')[0] as DeploymentDoc;
    const broken = structuredClone(web);
    (broken.spec as Record<string, unknown>).replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  it('runs a web and a worker Deployment, non-root, probed on /healthz and /readyz', () => {
    const deployments = byKind('Deployment') as DeploymentDoc[];
    const roles = new Map(deployments.map((d) => [d.metadata.name, d]));
    for (const [name, role] of [
      ['deckhand-web', 'web'],
      ['deckhand-worker', 'worker'],
    ] as const) {
      const deployment = roles.get(name);
      if (!deployment) throw new Error(`${name} is missing`);
      const container = deployment.spec.template.spec.containers[0] as Container;
      expect(container.args).toEqual(['start', '--role', role]);
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(deployment.spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      // Settings and secrets come from the ConfigMap and Secret defined alongside.
      expect(container.envFrom).toEqual([
        { configMapRef: { name: 'deckhand-config' } },
        { secretRef: { name: 'deckhand-secrets' } },
      ]);
    }
    // A worker's SIGTERM grace (up to 30 s of finishing tasks) fits in its termination grace period.
    expect(roles.get('deckhand-worker')?.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      30,
    );
  });

  it('autoscales the web Deployment and lets Prometheus find both roles', () => {
    const hpa = byKind('HorizontalPodAutoscaler')[0] as Manifest & {
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'deckhand-web' });
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    const monitor = serviceMonitorSchema.parse(byKind('ServiceMonitor')[0]);
    const scraped = byKind('Service').filter((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual(['deckhand-web', 'deckhand-worker-metrics']);
    for (const service of scraped) {
      const ports = (service.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      expect(ports).toContain(monitor.spec.endpoints[0]?.port);
    }
  });

  it('scrapes /metrics with the bearer token the Secret holds as DECKHAND_METRICS_TOKEN', () => {
    const monitor = serviceMonitorSchema.parse(byKind('ServiceMonitor')[0]);
    const secret = byKind('Secret')[0] as Manifest & { stringData: Record<string, string> };
    for (const endpoint of monitor.spec.endpoints) {
      expect(endpoint.authorization).toEqual({
        type: 'Bearer',
        credentials: { name: secret.metadata.name, key: 'DECKHAND_METRICS_TOKEN' },
      });
    }
    expect(Object.keys(secret.stringData)).toContain('DECKHAND_METRICS_TOKEN');
  });

  it('lists every manifest in kustomization.yaml', () => {
    const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });
});
