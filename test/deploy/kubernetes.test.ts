// deploy/k8s rendered by kustomize (`kubectl kustomize`), every document schema-checked offline
// with kubernetes-models (and its cert-manager and prometheus-operator models), then the
// deployment policy asserted field by field: for the base, the example overlay and the fleet
// overlay (shared rate limit on Redis, TLS to the pods, a PodMonitor). kubernetes-models ignores
// unknown (misspelled) keys, so the policy compares whole objects where it can and reads every
// field it relies on. The fleet's Redis arguments are also given to a real redis-server.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Certificate, type ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1'
import {
  PodMonitor,
  type IPodMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1'
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2'
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1'
import {
  Namespace,
  Secret,
  Service,
  ServiceAccount,
  type IContainer,
  type INamespace,
  type IPodSpec,
  type ISecret,
  type IService,
  type IServiceAccount,
} from 'kubernetes-models/v1'
import { parse, parseAllDocuments } from 'yaml'
import { defined, ofKind, readDockerfile } from '../helpers/dockerfile.js'
import { freePort } from '../helpers/process.js'
import { testIf, testWithPart } from '../helpers/skip.js'

const K8S = new URL('../../deploy/k8s/', import.meta.url)

/**
 * The peak resident memory of one service process under saturating load, over HTTPS (the higher
 * of HTTP and HTTPS), measured with `npm run bench:memory` on 2026-12-05: docs/performance.md
 * ("Memory") has the figures, the machine and the command. The pod's memory request must be at
 * least this; measure again when the service changes what it holds, and update both.
 */
const MEASURED_PEAK_RSS_MIB = 187

interface Manifest {
  apiVersion: string
  kind: string
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }
}
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'cert-manager.io/v1/Certificate': Certificate,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
const hasKubectl = kubectl.error === undefined && kubectl.status === 0
const NO_KUBECTL =
  'kubectl not found, so kustomize cannot render this overlay (the base is checked from its files); install kubectl, which bundles kustomize'

function documents(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]?.message}`)
    const manifest = doc.toJS() as Manifest & { data?: Record<string, string> }
    // kustomize wraps a Secret's base64 over lines; the API server's decoder skips the newlines.
    if (manifest.kind === 'Secret' && manifest.data !== undefined)
      for (const [key, value] of Object.entries(manifest.data))
        manifest.data[key] = value.replace(/\s+/g, '')
    return manifest
  })
}

/** `kubectl kustomize <dir>`; without kubectl, the base's files as written (no transformers). */
function render(dir: string): Manifest[] {
  if (hasKubectl) {
    const result = spawnSync('kubectl', ['kustomize', fileURLToPath(new URL(dir, K8S))], {
      encoding: 'utf8',
    })
    if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr}`)
    return documents(result.stdout, dir)
  }
  const kustomization = parse(readFileSync(new URL(`${dir}/kustomization.yaml`, K8S), 'utf8'))
  if (Object.keys(kustomization).sort().join() !== 'apiVersion,kind,resources')
    throw new Error(`${dir}/kustomization.yaml transforms its resources: kubectl is needed`)
  const text = (kustomization.resources as string[])
    .map((file) => readFileSync(new URL(`${dir}/${file}`, K8S), 'utf8'))
    .join('\n---\n')
  return documents(text, dir)
}

/** The scrape configuration: components/prometheus-operator, which any overlay may add. */
const COMPONENT = 'components/prometheus-operator'
const componentPodMonitor = (): IPodMonitor => {
  const kustomization = parse(readFileSync(new URL(`${COMPONENT}/kustomization.yaml`, K8S), 'utf8'))
  expect(kustomization).toMatchObject({ kind: 'Component', resources: ['podmonitor.yaml'] })
  const [monitor] = documents(
    readFileSync(new URL(`${COMPONENT}/podmonitor.yaml`, K8S), 'utf8'),
    COMPONENT,
  )
  new PodMonitor(monitor as never).validate()
  return monitor as IPodMonitor
}

/** Kubernetes quantities as numbers: cores for CPU ("100m", "1"), bytes for memory ("128Mi", "64mb"). */
function quantity(value: string | number | undefined): number {
  const match = /^([0-9.]+)(m|Ki|Mi|Gi|mb)?$/.exec(String(value))
  if (match === null) throw new Error(`not a quantity: ${value}`)
  const scale = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, mb: 2 ** 20 }[match[2] ?? ''] ?? 1
  return Number(match[1]) * scale
}
const MiB = 2 ** 20

/** A selector's labels, all present with the same values on the pods. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string>) {
  return (
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  )
}

/** The value after `flag` in a server's arguments. */
const argument = (args: readonly string[], flag: string) => args[args.indexOf(flag) + 1]

const runtimeUser = ofKind(defined(readDockerfile().stages.at(-1), 'runtime stage'), 'USER')
  .at(-1)
  ?.getArgumentsContent()

interface Target {
  dir: string
  /** The Secret is in the output (generated), or the operator creates it (referenced by name). */
  secret: 'generated' | 'operator'
  namespace: string | undefined
  /** The fleet: Redis for the shared limit, TLS to the pods, the PodMonitor. */
  fleet: boolean
  kinds: string[]
}
const BASE_KINDS = [
  'Deployment',
  'HorizontalPodAutoscaler',
  'NetworkPolicy',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'Service',
  'ServiceAccount',
]
const EXAMPLE_KINDS = [...BASE_KINDS, 'Namespace', 'Secret'].sort()
const targets: Target[] = [
  { dir: 'base', secret: 'operator', namespace: undefined, fleet: false, kinds: BASE_KINDS },
  {
    dir: 'overlays/example',
    secret: 'generated',
    namespace: 'usersig',
    fleet: false,
    kinds: EXAMPLE_KINDS,
  },
  {
    dir: 'overlays/fleet',
    secret: 'generated',
    namespace: 'usersig',
    fleet: true,
    kinds: [
      ...EXAMPLE_KINDS,
      ...['Certificate', 'Deployment', 'NetworkPolicy', 'PodMonitor', 'Secret', 'Service'],
    ].sort(),
  },
]

describe.each(targets)('deploy/k8s/$dir', (target) => {
  const rendered = target.dir === 'base' || hasKubectl
  const it = testIf(rendered, NO_KUBECTL)
  const docs = rendered ? render(target.dir) : []
  const named = <T>(kind: string, name: string): T => {
    const found = docs.filter(
      (doc) => doc.kind === kind && doc.metadata?.name?.replace(/-[a-z0-9]{10}$/, '') === name,
    )
    expect({ kind, name, found: found.length }).toEqual({ kind, name, found: 1 })
    return found[0] as T
  }
  const all = <T>(kind: string): T[] => docs.filter((doc) => doc.kind === kind) as T[]

  /** The service's Deployment, pod and container, and the container's env by name. */
  const service = () => {
    const deployment = named<IDeployment>('Deployment', 'usersig-service')
    const pod = defined(deployment.spec?.template.spec, 'pod spec')
    const container = defined(
      pod.containers.find((c) => c.name === 'usersig-service'),
      'container usersig-service',
    )
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]))
    const labels = deployment.spec?.template.metadata?.labels ?? {}
    const port = (name: string) => container.ports?.find((p) => p.name === name)?.containerPort
    return { deployment, spec: defined(deployment.spec, 'spec'), pod, container, env, labels, port }
  }
  /** The name of the port callers use: `https` in the fleet (TLS to the pods), `http` elsewhere. */
  const callerPort = target.fleet ? 'https' : 'http'

  it('renders the expected kinds, and every document passes its kubernetes-models schema', () => {
    expect(docs.map((doc) => doc.kind).sort()).toEqual(target.kinds)
    for (const doc of docs) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`]
      expect({ doc: `${doc.apiVersion}/${doc.kind}`, known: Model !== undefined }).toEqual({
        doc: `${doc.apiVersion}/${doc.kind}`,
        known: true,
      })
      new (defined(Model, doc.kind))(doc as never).validate() // throws with the failing path
      expect(doc.metadata?.name).toMatch(/^usersig/)
      if (doc.kind !== 'Namespace') expect(doc.metadata?.namespace).toBe(target.namespace)
    }
  })

  describe('the Deployment', () => {
    it('sets no replicas: the HorizontalPodAutoscaler owns the count; rolled one extra pod at a time', () => {
      const { spec, pod, deployment } = service()
      // `kubectl apply` would otherwise reset the autoscaler's count on every apply.
      expect(spec.replicas).toBeUndefined()
      const hpa = named<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'usersig-service')
      expect(hpa.spec?.scaleTargetRef.name).toBe(deployment.metadata?.name)
      expect(spec.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      })
      expect(selects(spec.selector.matchLabels, spec.template.metadata?.labels ?? {})).toBe(true)
      // Stateless: no volume but Secrets (the configuration; in the fleet, the TLS pair too).
      expect(pod.volumes?.map((volume) => Object.keys(volume).sort())).toEqual(
        (target.fleet ? [1, 2] : [1]).map(() => ['name', 'secret']),
      )
    })

    it('one process per pod (WEB_CONCURRENCY=1): the autoscaler scales pods', () => {
      expect(service().env.WEB_CONCURRENCY).toEqual({ name: 'WEB_CONCURRENCY', value: '1' })
    })

    it(`probes /healthz (liveness) and /readyz (readiness) on the callers' port${target.fleet ? ', over HTTPS' : ''}`, () => {
      const { container, env } = service()
      expect(container.ports).toEqual([
        { name: callerPort, containerPort: 8080, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
      ])
      expect(env.PORT?.value).toBe('8080')
      const scheme = target.fleet ? { scheme: 'HTTPS' } : {}
      expect(container.livenessProbe?.httpGet).toEqual({
        path: '/healthz',
        port: callerPort,
        ...scheme,
      })
      expect(container.readinessProbe?.httpGet).toEqual({
        path: '/readyz',
        port: callerPort,
        ...scheme,
      })
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        expect(probe?.periodSeconds).toBeGreaterThan(0)
        expect(probe?.timeoutSeconds).toBeGreaterThan(0)
        expect(probe?.failureThreshold).toBeGreaterThan(0)
      }
      // Readiness reacts faster than liveness restarts.
      expect(container.readinessProbe?.periodSeconds).toBeLessThan(
        defined(container.livenessProbe?.periodSeconds, 'liveness periodSeconds'),
      )
    })

    it(`requests at least the measured peak memory (${MEASURED_PEAK_RSS_MIB} MiB), a memory limit with headroom, and no CPU limit`, () => {
      const { requests, limits } = service().container.resources ?? {}
      expect(Object.keys(requests ?? {}).sort()).toEqual(['cpu', 'memory'])
      // No CPU limit (CFS throttling shows as tail latency); the deployment.yaml comment says why.
      expect(Object.keys(limits ?? {})).toEqual(['memory'])
      expect(quantity(requests?.cpu)).toBe(0.1)
      expect(quantity(requests?.memory)).toBeGreaterThanOrEqual(MEASURED_PEAK_RSS_MIB * MiB)
      expect(quantity(limits?.memory)).toBeGreaterThanOrEqual(2 * MEASURED_PEAK_RSS_MIB * MiB)
      expect(quantity(limits?.memory)).toBeGreaterThan(quantity(requests?.memory))
    })

    it('runs as the image user, and reads apps and callers from the Secret, mounted read-only as files; no secret in env', () => {
      const { pod, container, env } = service()
      const [uid, gid] = (runtimeUser ?? '').split(':').map(Number)
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid ?? uid,
        fsGroup: gid ?? uid,
        seccompProfile: { type: 'RuntimeDefault' },
      })
      expect(pod.automountServiceAccountToken).toBe(false)
      expect(pod.serviceAccountName).toBe(
        named<IServiceAccount>('ServiceAccount', 'usersig-service').metadata?.name,
      )
      const volume = pod.volumes?.find((v) => v.name === 'usersig-config')
      const mount = container.volumeMounts?.find((m) => m.name === 'usersig-config')
      expect(mount).toEqual({
        name: 'usersig-config',
        mountPath: '/run/secrets/usersig',
        readOnly: true,
      })
      expect(env.USERSIG_APPS_FILE).toEqual({
        name: 'USERSIG_APPS_FILE',
        value: '/run/secrets/usersig/apps.json',
      })
      expect(env.USERSIG_CLIENTS_FILE).toEqual({
        name: 'USERSIG_CLIENTS_FILE',
        value: '/run/secrets/usersig/clients.json',
      })
      for (const name of [
        'USERSIG_APPS',
        'USERSIG_CLIENTS',
        'USERSIG_JWT_SECRET',
        'USERSIG_REDIS_URL',
      ])
        expect(env[name]).toBeUndefined()
      expect(container.envFrom).toBeUndefined()
      expect(Object.values(env).every((e) => Object.keys(e).sort().join() === 'name,value')).toBe(
        true,
      )
      // No world (other) permission on any Secret's files; the group is the pod's fsGroup.
      for (const secretVolume of pod.volumes ?? []) {
        expect(defined(secretVolume.secret?.defaultMode, 'defaultMode') & 0o007).toBe(0)
        expect(secretVolume.secret?.optional ?? false).toBe(false)
      }
      const secretName = volume?.secret?.secretName
      if (target.secret === 'operator') {
        expect(secretName).toBe('usersig-service')
      } else {
        // The generated Secret, under its content-hashed name: a change rolls the pods.
        expect(secretName).toBe(named<ISecret>('Secret', 'usersig-service').metadata?.name)
        expect(secretName).toMatch(/^usersig-service-[a-z0-9]{10}$/)
      }
    })

    it('is production, drains on SIGTERM, and the grace period outlasts drain + timeout', () => {
      const { pod, container, env } = service()
      expect(env.NODE_ENV?.value).toBe('production')
      const delay = Number(env.SHUTDOWN_DELAY_MS?.value)
      const timeout = Number(env.SHUTDOWN_TIMEOUT_MS?.value ?? 10_000)
      expect(delay).toBeGreaterThanOrEqual(3000)
      expect(delay).toBeLessThanOrEqual(10_000)
      // The in-app delay does preStop's job; a preStop hook would add to the time SIGKILL waits.
      const preStopSeconds = container.lifecycle?.preStop?.sleep?.seconds ?? 0
      expect(defined(pod.terminationGracePeriodSeconds, 'grace period') * 1000).toBeGreaterThan(
        preStopSeconds * 1000 + delay + timeout,
      )
    })

    if (target.secret === 'generated') {
      it('takes its image from a registry, by tag or digest', () => {
        expect(service().container.image).toMatch(
          /^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
        )
      })
    }
  })

  it('every container runs restricted: non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    const pods: [string, IPodSpec][] = all<IDeployment>('Deployment').map((d) => [
      defined(d.metadata?.name, 'name'),
      defined(d.spec?.template.spec, 'pod spec'),
    ])
    expect(pods.length).toBe(target.fleet ? 2 : 1)
    for (const [name, pod] of pods) {
      expect({ name, seccomp: pod.securityContext?.seccompProfile }).toEqual({
        name,
        seccomp: { type: 'RuntimeDefault' },
      })
      expect({
        name,
        hostNetwork: pod.hostNetwork ?? false,
        token: pod.automountServiceAccountToken,
      }).toEqual({
        name,
        hostNetwork: false,
        token: false,
      })
      const containers: IContainer[] = [...pod.containers, ...(pod.initContainers ?? [])]
      for (const container of containers) {
        expect({ container: container.name, ...container.securityContext }).toEqual({
          container: container.name,
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        })
        const uid = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser
        expect({ container: container.name, nonZeroUid: (uid ?? 0) > 0 }).toEqual({
          container: container.name,
          nonZeroUid: true,
        })
      }
    }
  })

  it(`a Service sends to the pods, on the callers' port (${target.fleet ? '443, HTTPS' : '80, HTTP'}); never the metrics port`, () => {
    const { spec } = named<IService>('Service', 'usersig-service')
    expect(selects(spec?.selector, service().labels)).toBe(true)
    expect(spec?.type).toBe('ClusterIP')
    expect(spec?.ports).toEqual([
      target.fleet
        ? { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP', appProtocol: 'https' }
        : { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
    ])
  })

  it('a HorizontalPodAutoscaler (autoscaling/v2) scales the Deployment on CPU, from 2', () => {
    const hpa = named<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'usersig-service')
    const { deployment } = service()
    expect(hpa.apiVersion).toBe('autoscaling/v2')
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata?.name,
    })
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2)
    expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0)
    expect(hpa.spec?.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ])
  })

  it('a PodDisruptionBudget lets voluntary disruptions take one pod at a time (maxUnavailable: 1)', () => {
    const { spec } = named<IPodDisruptionBudget>('PodDisruptionBudget', 'usersig-service')
    expect(spec?.maxUnavailable).toBe(1)
    expect(spec?.minAvailable).toBeUndefined()
    expect(selects(spec?.selector?.matchLabels, service().labels)).toBe(true)
  })

  describe('network policies of the service pods', () => {
    const policies = () =>
      all<INetworkPolicy>('NetworkPolicy').filter((p) =>
        selects(p.spec?.podSelector.matchLabels, service().labels),
      )

    it("callers reach only the callers' port; every rule names its ports", () => {
      const callers = named<INetworkPolicy>('NetworkPolicy', 'usersig-service')
      expect(callers.spec?.policyTypes).toEqual(['Ingress'])
      expect(callers.spec?.ingress?.length).toBeGreaterThan(0)
      for (const rule of callers.spec?.ingress ?? []) {
        expect(rule.ports).toEqual([{ protocol: 'TCP', port: callerPort }])
        if (target.secret === 'generated') expect(rule.from?.length).toBeGreaterThan(0)
      }
      // A rule without ports would admit every port, the metrics port among them.
      for (const policy of policies())
        for (const rule of policy.spec?.ingress ?? []) expect(rule.ports?.length).toBeGreaterThan(0)
    })

    it('the metrics port is admitted from the monitoring namespace only', () => {
      const { container, env } = service()
      const metrics = container.ports?.find((p) => p.name === 'metrics')
      expect(env.METRICS_PORT?.value).toBe(String(metrics?.containerPort))
      const admitting = policies().flatMap((p) =>
        (p.spec?.ingress ?? []).filter((rule) =>
          rule.ports?.some(
            (port) => port.port === 'metrics' || port.port === metrics?.containerPort,
          ),
        ),
      )
      expect(admitting).toEqual([
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ],
          ports: [{ protocol: 'TCP', port: 'metrics' }],
        },
      ])
    })
  })

  it(`the scrape configuration (${COMPONENT}'s PodMonitor) scrapes these pods' metrics port, over plain HTTP`, () => {
    const monitor = target.fleet
      ? named<IPodMonitor>('PodMonitor', 'usersig-service')
      : componentPodMonitor()
    const { container } = service()
    expect(selects(monitor.spec.selector.matchLabels, service().labels)).toBe(true)
    expect(monitor.spec.podMetricsEndpoints).toEqual([
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' },
    ])
    expect(container.ports?.map((p) => p.name)).toContain('metrics')
    // The component's PodMonitor is the fleet's, as rendered.
    if (target.fleet) expect(monitor.spec).toEqual(componentPodMonitor().spec)
  })

  if (target.secret === 'generated') {
    it('the generated Secrets hold only REPLACE_WITH_ placeholders (the service refuses them), the same as config/*.example.json', () => {
      const secret = named<ISecret>('Secret', 'usersig-service')
      expect(Object.keys(secret.data ?? {}).sort()).toEqual(
        ['apps.json', 'clients.json', ...(target.fleet ? ['redis-url'] : [])].sort(),
      )
      const decoded = (s: ISecret, key: string): string =>
        Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8')
      const apps = JSON.parse(decoded(secret, 'apps.json')) as Record<
        string,
        { keys: { secret: string }[] }
      >
      const clients = JSON.parse(decoded(secret, 'clients.json')) as {
        token?: string
        tokenSha256?: string
      }[]
      const values = [
        ...Object.values(apps).flatMap((app) => app.keys.map((key) => key.secret)),
        ...clients.map((client) => client.token ?? client.tokenSha256 ?? ''),
      ]
      expect(values.length).toBeGreaterThan(0)
      for (const value of values) expect(value).toMatch(/^REPLACE_WITH_/)
      const example = (name: string): unknown =>
        JSON.parse(readFileSync(new URL(`../../config/${name}`, import.meta.url), 'utf8'))
      expect(apps).toEqual(example('apps.example.json'))
      expect(clients).toEqual(example('clients.example.json'))
      if (target.fleet) {
        const password = decoded(named<ISecret>('Secret', 'usersig-redis'), 'password')
        expect(password).toMatch(/^REPLACE_WITH_[A-Z0-9_]+$/)
        expect(new URL(decoded(secret, 'redis-url')).password).toMatch(/^REPLACE_WITH_/)
      }
    })

    it('the namespace enforces the restricted Pod Security Standard', () => {
      const namespace = named<INamespace>('Namespace', defined(target.namespace, 'namespace'))
      expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
    })
  }

  if (target.fleet) describeFleet(named, service)
})

/** The fleet overlay's own policy: one Redis for the shared limit, and TLS to the pods. */
function describeFleet(
  named: <T>(kind: string, name: string) => T,
  service: () => {
    pod: IPodSpec
    container: IContainer
    env: Record<string, { name: string; value?: string }>
    labels: Record<string, string>
  },
): void {
  const it = testIf(hasKubectl, NO_KUBECTL)
  const redis = () => {
    const deployment = named<IDeployment>('Deployment', 'usersig-redis')
    const pod = defined(deployment.spec?.template.spec, 'redis pod')
    const container = defined(pod.containers[0], 'redis container')
    return { deployment, pod, container, labels: deployment.spec?.template.metadata?.labels ?? {} }
  }

  describe('the shared rate limit: one Redis-protocol server', () => {
    it('one replica, replaced whole, a pinned image, no persistence (no volume, no snapshots, no append-only file)', () => {
      const { deployment, pod, container } = redis()
      expect(deployment.spec?.replicas).toBe(1)
      expect(deployment.spec?.strategy).toEqual({ type: 'Recreate' })
      expect(pod.containers).toHaveLength(1)
      // A release, not `latest` or a major alone.
      expect(container.image).toMatch(/^[a-z0-9./-]+(:\d+\.\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$/)
      expect(pod.volumes).toBeUndefined()
      expect(container.volumeMounts).toBeUndefined()
      const args = container.args ?? []
      expect(argument(args, '--save')).toBe('')
      expect(argument(args, '--appendonly')).toBe('no')
    })

    it('a password from a Secret, through the environment: never written in the manifest', () => {
      const { container } = redis()
      const args = container.args ?? []
      const variable = /^\$\(([A-Z_]+)\)$/.exec(argument(args, '--requirepass') ?? '')?.[1]
      expect(variable).toBeDefined()
      const env = container.env?.find((e) => e.name === variable)
      expect(env?.value).toBeUndefined()
      const generated = named<ISecret>('Secret', 'usersig-redis')
      expect(env?.valueFrom).toEqual({
        secretKeyRef: { name: generated.metadata?.name, key: 'password' },
      })
      expect(Object.keys(generated.data ?? {})).toEqual(['password'])
      const password = Buffer.from(generated.data?.password ?? '', 'base64').toString('utf8')
      expect(JSON.stringify([container.command, container.args])).not.toContain(password)
    })

    it('maxmemory with an eviction policy made for expiring counts, below a memory limit; requests set', () => {
      const { container } = redis()
      const args = container.args ?? []
      expect(argument(args, '--maxmemory-policy')).toBe('volatile-ttl')
      const maxmemory = quantity(argument(args, '--maxmemory'))
      const { requests, limits } = container.resources ?? {}
      expect(Object.keys(requests ?? {}).sort()).toEqual(['cpu', 'memory'])
      expect(quantity(requests?.memory)).toBeGreaterThanOrEqual(1.5 * maxmemory)
      expect(quantity(limits?.memory)).toBeGreaterThanOrEqual(quantity(requests?.memory))
    })

    it("a Service for it, and a NetworkPolicy admitting only the service's pods, on its port; no egress", () => {
      const { container, labels } = redis()
      const store = named<IService>('Service', 'usersig-redis')
      expect(selects(store.spec?.selector, labels)).toBe(true)
      expect(selects(store.spec?.selector, service().labels)).toBe(false)
      expect(store.spec?.ports).toEqual([
        { name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' },
      ])
      expect(container.ports).toEqual([{ name: 'redis', containerPort: 6379, protocol: 'TCP' }])

      const policy = named<INetworkPolicy>('NetworkPolicy', 'usersig-redis')
      expect(selects(policy.spec?.podSelector.matchLabels, labels)).toBe(true)
      expect(selects(policy.spec?.podSelector.matchLabels, service().labels)).toBe(false)
      expect(policy.spec?.policyTypes).toEqual(['Ingress', 'Egress'])
      expect(policy.spec?.egress).toBeUndefined()
      expect(policy.spec?.ingress).toEqual([
        {
          from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'usersig-service' } } }],
          ports: [{ protocol: 'TCP', port: 'redis' }],
        },
      ])
      const from = policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels
      expect(selects(from, service().labels)).toBe(true)
      expect(selects(from, labels)).toBe(false)
    })

    it("points the service at it through USERSIG_REDIS_URL_FILE, a file of the service's mounted Secret", () => {
      const { env, container } = service()
      expect(env.USERSIG_REDIS_URL_FILE).toEqual({
        name: 'USERSIG_REDIS_URL_FILE',
        value: '/run/secrets/usersig/redis-url',
      })
      const mount = container.volumeMounts?.find((m) => m.mountPath === '/run/secrets/usersig')
      expect(mount?.name).toBe('usersig-config')
      const secret = named<ISecret>('Secret', 'usersig-service')
      const url = new URL(Buffer.from(secret.data?.['redis-url'] ?? '', 'base64').toString('utf8'))
      expect({ protocol: url.protocol, host: url.hostname, port: url.port }).toEqual({
        protocol: 'redis:',
        host: named<IService>('Service', 'usersig-redis').metadata?.name,
        port: String(named<IService>('Service', 'usersig-redis').spec?.ports?.[0]?.port),
      })
    })

    const redisServer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
    const redisCli = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' })
    ;(hasKubectl
      ? testWithPart(
          'redis',
          redisServer.status === 0 && redisCli.status === 0,
          'redis-server or redis-cli is missing (scripts/install-redis.sh installs them)',
        )
      : testIf(false, NO_KUBECTL))(
      "a real redis-server takes the manifest's arguments: auth required, the memory policy in force, nothing written",
      async () => {
        const { container } = redis()
        const password = 'p'.repeat(8) + Date.now()
        const args = (container.args ?? []).map((arg) => arg.replace(/^\$\([A-Z_]+\)$/, password))
        const port = await freePort()
        const dir = mkdtempSync(join(tmpdir(), 'usersig-redis-'))
        const server = spawn(
          'redis-server',
          [...args, '--port', String(port), '--bind', '127.0.0.1'],
          {
            cwd: dir,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        )
        let output = ''
        server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
        try {
          const deadline = Date.now() + 10_000
          while (!output.includes('Ready to accept connections') && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 50))
          /** redis-cli's answer, one line per value. */
          const cli = (auth: boolean, ...command: string[]): string[] =>
            spawnSync('redis-cli', ['-p', String(port), '--no-auth-warning', ...command], {
              encoding: 'utf8',
              env: { ...process.env, ...(auth ? { REDISCLI_AUTH: password } : {}) },
            })
              .stdout.replace(/\n$/, '')
              .split('\n')
          expect(cli(false, 'PING')[0]).toMatch(/^NOAUTH/)
          expect(cli(true, 'PING')).toEqual(['PONG'])
          const maxmemory = String(quantity(argument(args, '--maxmemory')))
          expect(cli(true, 'CONFIG', 'GET', 'maxmemory*')).toEqual(
            expect.arrayContaining(['maxmemory', maxmemory, 'maxmemory-policy', 'volatile-ttl']),
          )
          expect(cli(true, 'CONFIG', 'GET', 'save')).toEqual(['save', ''])
          expect(cli(true, 'CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'no'])
          // A count as the service keeps one: an integer that expires with its window.
          expect(cli(true, 'SET', 'count', '0', 'EX', '60', 'NX')).toEqual(['OK'])
          expect(cli(true, 'INCRBY', 'count', '5')).toEqual(['5'])
          // The password is not in the process's command line once it runs.
          const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8')
          expect(cmdline).not.toContain(password)
          cli(true, 'SHUTDOWN')
          await once(server, 'exit')
          expect(readdirSync(dir)).toEqual([])
        } finally {
          server.kill('SIGKILL')
          rmSync(dir, { recursive: true, force: true })
        }
      },
    )
  })

  describe('TLS to the pods', () => {
    it('a cert-manager Certificate for the Service names, whose Secret is mounted read-only, with the two variables pointing into it', () => {
      const { pod, container, env } = service()
      const certificate = named<ICertificate>('Certificate', 'usersig-service-tls')
      const volume = pod.volumes?.find((v) => v.secret?.secretName === certificate.spec.secretName)
      expect(volume?.secret?.defaultMode).toBe(0o440)
      const mount = container.volumeMounts?.find((m) => m.name === volume?.name)
      expect(mount).toEqual({
        name: volume?.name,
        mountPath: '/run/secrets/usersig-tls',
        readOnly: true,
      })
      expect([env.USERSIG_TLS_CERT_FILE, env.USERSIG_TLS_KEY_FILE]).toEqual([
        { name: 'USERSIG_TLS_CERT_FILE', value: '/run/secrets/usersig-tls/tls.crt' },
        { name: 'USERSIG_TLS_KEY_FILE', value: '/run/secrets/usersig-tls/tls.key' },
      ])
      const serviceName = named<IService>('Service', 'usersig-service').metadata
      expect(certificate.spec.dnsNames).toEqual(
        expect.arrayContaining([
          serviceName?.name,
          `${serviceName?.name}.${serviceName?.namespace}.svc`,
          `${serviceName?.name}.${serviceName?.namespace}.svc.cluster.local`,
        ]),
      )
      expect(certificate.spec.usages).toContain('server auth')
      // Renewed well before it expires, with a new key each time.
      expect(certificate.spec.privateKey?.rotationPolicy).toBe('Always')
      const hours = (value: string | undefined) => Number(/^(\d+)h$/.exec(value ?? '')?.[1])
      expect(hours(certificate.spec.renewBefore)).toBeLessThan(hours(certificate.spec.duration) / 2)
    })
  })
}
