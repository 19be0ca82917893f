// deploy/k8s rendered by kustomize (`kubectl kustomize`), every document schema-checked offline
// with kubernetes-models, then the deployment policy asserted field by field. kubernetes-models
// ignores unknown (misspelled) keys, so the policy compares whole objects where it can and reads
// every field it relies on.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
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
  type INamespace,
  type ISecret,
  type IService,
  type IServiceAccount,
} from 'kubernetes-models/v1'
import { parse, parseAllDocuments } from 'yaml'
import { defined, ofKind, readDockerfile } from '../helpers/dockerfile.js'
import { testIf } from '../helpers/skip.js'

const K8S = new URL('../../deploy/k8s/', import.meta.url)

interface Manifest {
  apiVersion: string
  kind: string
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }
}
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
const hasKubectl = kubectl.error === undefined && kubectl.status === 0

/** `kubectl kustomize <dir>`; without kubectl, the base's files as written (no transformers). */
function render(dir: string): Manifest[] {
  let text: string
  if (hasKubectl) {
    const result = spawnSync('kubectl', ['kustomize', fileURLToPath(new URL(dir, K8S))], {
      encoding: 'utf8',
    })
    if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr}`)
    text = result.stdout
  } else {
    const kustomization = parse(readFileSync(new URL(`${dir}/kustomization.yaml`, K8S), 'utf8'))
    if (Object.keys(kustomization).sort().join() !== 'apiVersion,kind,resources')
      throw new Error(`${dir}/kustomization.yaml transforms its resources: kubectl is needed`)
    text = (kustomization.resources as string[])
      .map((file) => readFileSync(new URL(`${dir}/${file}`, K8S), 'utf8'))
      .join('\n---\n')
  }
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message}`)
    const manifest = doc.toJS() as Manifest & { data?: Record<string, string> }
    // kustomize wraps a Secret's base64 over lines; the API server's decoder skips the newlines.
    if (manifest.kind === 'Secret' && manifest.data !== undefined)
      for (const [key, value] of Object.entries(manifest.data))
        manifest.data[key] = value.replace(/\s+/g, '')
    return manifest
  })
}

/** Kubernetes quantities as numbers: cores for CPU ("100m", "1"), bytes for memory ("128Mi"). */
function quantity(value: string | number | undefined): number {
  const match = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(String(value))
  if (match === null) throw new Error(`not a quantity: ${value}`)
  const scale = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] ?? ''] ?? 1
  return Number(match[1]) * scale
}

/** A selector's labels, all present with the same values on the pods. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string>) {
  return (
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  )
}

const runtimeUser = ofKind(defined(readDockerfile().stages.at(-1), 'runtime stage'), 'USER')
  .at(-1)
  ?.getArgumentsContent()

interface Target {
  dir: string
  /** The Secret is in the output (generated), or the operator creates it (referenced by name). */
  secret: 'generated' | 'operator'
  namespace: string | undefined
  kinds: string[]
}
const BASE_KINDS = [
  'Deployment',
  'HorizontalPodAutoscaler',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'Service',
  'ServiceAccount',
]
const targets: Target[] = [
  { dir: 'base', secret: 'operator', namespace: undefined, kinds: BASE_KINDS },
  {
    dir: 'overlays/example',
    secret: 'generated',
    namespace: 'usersig',
    kinds: [...BASE_KINDS, 'Namespace', 'Secret'].sort(),
  },
]

describe.each(targets)('deploy/k8s/$dir', (target) => {
  const rendered = target.dir === 'base' || hasKubectl
  const it = testIf(
    rendered,
    'kubectl not found, so kustomize cannot render this overlay (the base is checked from its files); install kubectl, which bundles kustomize',
  )
  const docs = rendered ? render(target.dir) : []
  const one = <T>(kind: string): T => {
    const found = docs.filter((doc) => doc.kind === kind)
    expect(found).toHaveLength(1)
    return found[0] as T
  }

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
    const get = () => {
      const deployment = one<IDeployment>('Deployment')
      const pod = deployment.spec?.template.spec
      const container = pod?.containers.find((c) => c.name === 'usersig-service')
      expect(container).toBeDefined()
      const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e]))
      return {
        deployment,
        spec: defined(deployment.spec, 'spec'),
        pod: defined(pod, 'pod spec'),
        container: defined(container, 'container usersig-service'),
        env,
      }
    }

    it('is stateless replicas: at least 2, rolled one extra at a time, none taken down first', () => {
      const { spec, pod } = get()
      expect(spec.replicas).toBeGreaterThanOrEqual(2)
      expect(spec.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      })
      expect(selects(spec.selector.matchLabels, spec.template.metadata?.labels ?? {})).toBe(true)
      // Stateless: no volume but the configuration Secret.
      expect(pod.volumes?.map((volume) => Object.keys(volume).sort())).toEqual([['name', 'secret']])
    })

    it('probes /healthz (liveness) and /readyz (readiness) on the container port', () => {
      const { container } = get()
      expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }])
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' })
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' })
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

    it('sets requests and limits (the autoscaler measures CPU against the request)', () => {
      const { container } = get()
      const { requests, limits } = container.resources ?? {}
      expect(Object.keys(requests ?? {}).sort()).toEqual(['cpu', 'memory'])
      expect(Object.keys(limits ?? {}).sort()).toEqual(['cpu', 'memory'])
      expect(quantity(requests?.cpu)).toBe(0.1)
      expect(quantity(requests?.memory)).toBe(128 * 2 ** 20)
      expect(quantity(limits?.cpu)).toBeGreaterThanOrEqual(quantity(requests?.cpu))
      expect(quantity(limits?.memory)).toBeGreaterThanOrEqual(quantity(requests?.memory))
    })

    it('runs restricted: non-root (the image user), read-only root, no escalation, no capabilities, RuntimeDefault seccomp', () => {
      const { pod, container } = get()
      const [uid, gid] = (runtimeUser ?? '').split(':').map(Number)
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid ?? uid,
        fsGroup: gid ?? uid,
        seccompProfile: { type: 'RuntimeDefault' },
      })
      expect(container.securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      })
      expect(pod.automountServiceAccountToken).toBe(false)
      expect(pod.serviceAccountName).toBe(one<IServiceAccount>('ServiceAccount').metadata?.name)
      expect(pod.hostNetwork ?? false).toBe(false)
    })

    it('reads apps and callers from the Secret, mounted read-only as files; no secret in env', () => {
      const { pod, container, env } = get()
      const volume = pod.volumes?.[0]
      const mounts = container.volumeMounts ?? []
      expect(mounts).toEqual([
        { name: volume?.name, mountPath: '/run/secrets/usersig', readOnly: true },
      ])
      expect(env.USERSIG_APPS_FILE).toEqual({
        name: 'USERSIG_APPS_FILE',
        value: '/run/secrets/usersig/apps.json',
      })
      expect(env.USERSIG_CLIENTS_FILE).toEqual({
        name: 'USERSIG_CLIENTS_FILE',
        value: '/run/secrets/usersig/clients.json',
      })
      for (const name of ['USERSIG_APPS', 'USERSIG_CLIENTS', 'USERSIG_JWT_SECRET'])
        expect(env[name]).toBeUndefined()
      expect(container.envFrom).toBeUndefined()
      expect(Object.values(env).every((e) => Object.keys(e).sort().join() === 'name,value')).toBe(
        true,
      )
      // No world (other) permission on the key files; the group is the pod's fsGroup.
      const mode = defined(volume?.secret?.defaultMode, 'defaultMode')
      expect(mode & 0o007).toBe(0)
      expect(volume?.secret?.optional ?? false).toBe(false)
      const secretName = volume?.secret?.secretName
      if (target.secret === 'operator') {
        expect(secretName).toBe('usersig-service')
      } else {
        // The generated Secret, under its content-hashed name: a change rolls the pods.
        expect(secretName).toBe(one<ISecret>('Secret').metadata?.name)
        expect(secretName).toMatch(/^usersig-service-[a-z0-9]{10}$/)
      }
    })

    it('is production, drains on SIGTERM, and the grace period outlasts drain + timeout', () => {
      const { pod, container, env } = get()
      expect(env.NODE_ENV?.value).toBe('production')
      expect(env.PORT?.value).toBe(String(container.ports?.[0]?.containerPort))
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
        const { container } = get()
        expect(container.image).toMatch(
          /^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
        )
      })
    }
  })

  it('a Service sends to the pods, on the container port', () => {
    const { spec } = one<IService>('Service')
    const pods = one<IDeployment>('Deployment').spec?.template.metadata?.labels ?? {}
    expect(selects(spec?.selector, pods)).toBe(true)
    expect(spec?.type).toBe('ClusterIP')
    expect(spec?.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }])
  })

  it('a HorizontalPodAutoscaler (autoscaling/v2) scales the Deployment on CPU, from 2', () => {
    const hpa = one<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler')
    const deployment = one<IDeployment>('Deployment')
    expect(hpa.apiVersion).toBe('autoscaling/v2')
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata?.name,
    })
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2)
    expect(hpa.spec?.minReplicas).toBeLessThanOrEqual(deployment.spec?.replicas ?? 0)
    expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0)
    expect(hpa.spec?.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ])
  })

  it('a PodDisruptionBudget keeps at least one of the pods', () => {
    const { spec } = one<IPodDisruptionBudget>('PodDisruptionBudget')
    const deployment = one<IDeployment>('Deployment')
    expect(spec?.minAvailable).toBe(1)
    expect(spec?.maxUnavailable).toBeUndefined()
    expect(spec?.minAvailable).toBeLessThan(deployment.spec?.replicas ?? 0)
    expect(
      selects(spec?.selector?.matchLabels, deployment.spec?.template.metadata?.labels ?? {}),
    ).toBe(true)
  })

  it('a NetworkPolicy admits ingress to the pods on the service port only', () => {
    const { spec } = one<INetworkPolicy>('NetworkPolicy')
    const deployment = one<IDeployment>('Deployment')
    const pods = deployment.spec?.template.metadata?.labels ?? {}
    expect(selects(spec?.podSelector.matchLabels, pods)).toBe(true)
    expect(spec?.policyTypes).toContain('Ingress')
    const service = one<IService>('Service').spec?.ports?.[0]
    expect(spec?.ingress?.length).toBeGreaterThan(0)
    for (const rule of spec?.ingress ?? []) {
      expect(rule.ports).toEqual([{ protocol: 'TCP', port: service?.targetPort }])
      if (target.secret === 'generated') expect(rule.from?.length).toBeGreaterThan(0)
    }
  })

  if (target.secret === 'generated') {
    it('the generated Secret holds only REPLACE_WITH_ placeholders (the service refuses them), the same as config/*.example.json', () => {
      const secret = one<ISecret>('Secret')
      expect(Object.keys(secret.data ?? {}).sort()).toEqual(['apps.json', 'clients.json'])
      const decoded = (key: string): unknown =>
        JSON.parse(Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8'))
      const apps = decoded('apps.json') as Record<string, { keys: { secret: string }[] }>
      const clients = decoded('clients.json') as { token?: string; tokenSha256?: string }[]
      const values = [
        ...Object.values(apps).flatMap((app) => app.keys.map((key) => key.secret)),
        ...clients.map((client) => client.token ?? client.tokenSha256 ?? ''),
      ]
      expect(values.length).toBeGreaterThan(0)
      for (const value of values) expect(value).toMatch(/^REPLACE_WITH_/)
      const example = (name: string): unknown =>
        JSON.parse(readFileSync(new URL(`../../config/${name}`, import.meta.url), 'utf8'))
      expect(decoded('apps.json')).toEqual(example('apps.example.json'))
      expect(decoded('clients.json')).toEqual(example('clients.example.json'))
    })

    it('the namespace enforces the restricted Pod Security Standard', () => {
      const namespace = one<INamespace>('Namespace')
      expect(namespace.metadata?.name).toBe(target.namespace)
      expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
    })
  }
})
