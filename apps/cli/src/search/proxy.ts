import { NasError } from '@nasjs/core'
import type { ObjectiveList } from '@nasjs/core'
import type { DatasetSpec } from '@nasjs/models/node'
import { getSpace } from '@nasjs/search-space'
import type { TableSession, TableTarget } from '../targets.js'
import { builtSessionParts, dataLabel, dataSpec, networkOptions, reportOnlySession } from './training.js'
import type { TrainingFlags } from './parse.js'

/**
 * What `--evaluator proxy` scores every architecture with, as the journal header records it (so a
 * resumed run scores the same way): the proxies, the weights of their sum, the minibatch's data and
 * size, the network's width and depth (the builder's own where not given) and the initialisation.
 */
export interface ProxySetup {
  readonly space: string
  readonly proxies: readonly string[]
  /** Whether a higher score is better, per proxy (the proxy's paper's direction). */
  readonly higherIsBetter: Readonly<Record<string, boolean>>
  /** `zc_score` = Σ weight · score, when given. */
  readonly weights?: Readonly<Record<string, number>>
  /** The data the minibatch is drawn from, or `random` (Gaussian inputs, random labels). */
  readonly data: DatasetSpec | 'random'
  readonly batchSize: number
  readonly network: Readonly<Record<string, number>>
  readonly init: 'pytorch'
  readonly seed: number
}

/** The minibatch size of a proxy search when --batch-size is not given (the published tables' 64). */
export const PROXY_BATCH = 64

/** `--proxy-weights synflow=1,nwot=0.01`: the weights of `zc_score`, by proxy. */
export function parseProxyWeights(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^([A-Za-z_][\w]*)\s*=\s*(\S+)$/.exec(part)
    const w = m === null ? Number.NaN : Number(m[2])
    if (m === null || !Number.isFinite(w)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--proxy-weights: '${part}' is not proxy=weight (e.g. --proxy-weights synflow=1,nwot=0.01)`,
        value: text,
        allowed: ['proxy=number,proxy=number,...'],
      })
    }
    if (Object.hasOwn(out, m[1]!)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--proxy-weights: '${m[1]}' is weighted twice`,
        value: text,
      })
    }
    out[m[1]!] = w
  }
  return out
}

/** The metrics a proxy search records: `zc.<proxy>` for each, `zc_score` with weights, params and flops. */
export const proxyMetrics = (setup: Pick<ProxySetup, 'proxies' | 'weights'>): string[] => [
  ...setup.proxies.map((p) => `zc.${p}`),
  ...(setup.weights === undefined ? [] : ['zc_score']),
  'params',
  'flops',
]

/**
 * The setup of a proxy search from the flags. Loads `@nasjs/proxies` (and so TF.js) to check the
 * proxy names and read their directions; nothing is built and no data is read.
 */
export async function proxySetup(
  space: string,
  data: string | undefined,
  seed: number,
  flags: TrainingFlags & { readonly proxy?: string; readonly proxyWeights?: string },
): Promise<ProxySetup> {
  getSpace(space)
  const { createProxyRegistry } = await import('@nasjs/proxies')
  const list = createProxyRegistry().parseList(flags.proxy ?? 'synflow')
  const weights = flags.proxyWeights === undefined ? undefined : parseProxyWeights(flags.proxyWeights)
  for (const name of Object.keys(weights ?? {})) {
    if (!list.some((p) => p.name === name)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--proxy-weights: '${name}' is not one of --proxy (${list.map((p) => p.name).join(', ')})`,
        value: name,
        allowed: list.map((p) => p.name),
      })
    }
  }
  const spec = data === undefined ? 'fashion-mnist' : data === 'random' ? 'random' : proxyData(data)
  return {
    space,
    proxies: list.map((p) => p.name),
    higherIsBetter: Object.fromEntries(list.map((p) => [p.name, p.higherIsBetter])),
    ...(weights === undefined ? {} : { weights }),
    data: spec,
    batchSize: flags.batchSize ?? PROXY_BATCH,
    network: networkOptions(space, flags, {}),
    init: 'pytorch',
    seed,
  }
}

/** `--data` of a proxy search: what training takes, or `random`. */
function proxyData(arg: string): DatasetSpec {
  try {
    return dataSpec(arg) as DatasetSpec
  } catch (e) {
    if (!(e instanceof NasError)) throw e
    throw new NasError({
      code: 'NOT_REGISTERED',
      message: `--data '${arg}': with --evaluator proxy the minibatch comes from fashion-mnist, digits, mnist, a .csv file of features with a label column, a folder of PNG/JPEG images with one subfolder per class, or random (Gaussian inputs, random labels)`,
      value: arg,
      allowed: ['fashion-mnist', 'digits', 'mnist', 'file.csv', 'folder/', 'random'],
    })
  }
}

/** The name a run records for its data. */
export const proxyDataLabel = (setup: ProxySetup): string =>
  setup.data === 'random' ? 'random' : dataLabel(setup.data)

/** Default objectives: the weighted sum, else the first proxy in its direction; params:min beside it for multi-objective strategies. */
export function proxyObjectives(setup: ProxySetup, multiObjective: boolean): ObjectiveList {
  const first = setup.proxies[0]!
  const main =
    setup.weights !== undefined
      ? 'zc_score:max'
      : `zc.${first}:${setup.higherIsBetter[first] === false ? 'min' : 'max'}`
  return (multiObjective ? [main, 'params:min'] : [main]) as unknown as ObjectiveList
}

/** The target of a proxy search: its metrics are the proxies', no table behind it. */
export function proxyTarget(setup: ProxySetup): TableTarget {
  const metrics = proxyMetrics(setup)
  return {
    space: getSpace(setup.space),
    datasets: [],
    defaultDataset: proxyDataLabel(setup),
    defaultObjectives: proxyObjectives(setup, true),
    recordMetrics: metrics,
    showMetrics: metrics,
    checkMetrics(_dataset, names) {
      for (const n of names) {
        if (!metrics.includes(n)) {
          throw new NasError({
            code: 'METRIC_MISSING',
            message: `metric '${n}' is not measured by this proxy search; its metrics are ${metrics.join(', ')}${n.startsWith('zc.') ? ' (add the proxy to --proxy)' : ''}`,
            value: n,
            allowed: metrics,
          })
        }
      }
    },
    open: () => reportOnlySession(),
  }
}

/** A proxy session: the evaluator of `@nasjs/proxies` over the loaded minibatch data. */
export interface ProxySession extends TableSession {
  readonly description: string
  /** The builder setting of the scored networks. */
  readonly network: Record<string, unknown>
}

/**
 * Opens a proxy session: picks the TF.js backend, loads the data the minibatches are drawn from (the
 * network is built for its input shape and classes; with `random`, for the builder's default input)
 * and checks that the space has a builder. TF.js is loaded here.
 */
export async function openProxySession(setup: ProxySetup): Promise<ProxySession> {
  const [{ initBackend, formatBackendInfo }, models, node, proxies, { Rng }] = await Promise.all([
    import('@nasjs/backend'),
    import('@nasjs/models'),
    import('@nasjs/models/node'),
    import('@nasjs/proxies'),
    import('@nasjs/core'),
  ])
  const backend = await initBackend({ quiet: true })
  const space = getSpace(setup.space)
  const loaded =
    setup.data === 'random' ? undefined : await node.loadDataset(setup.data, { seed: setup.seed })
  const pool = loaded?.train
  const network = {
    ...setup.network,
    ...(pool === undefined
      ? {}
      : { inputShape: pool.shape as [number, number, number], classes: pool.classes }),
  }
  const cost = (a: unknown) => models.modelCost(space as never, a as never, { ...network, seed: setup.seed })
  // the builder's checks (a builder for the space, input shape, width) before any trial starts
  cost(space.sample(new Rng(0)))
  const { evaluator, info } = proxies.proxyEvaluator({
    space,
    proxies: setup.proxies.join(','),
    network,
    ...(pool === undefined ? {} : { data: pool }),
    batchSize: setup.batchSize,
    init: setup.init,
    ...(setup.weights === undefined ? {} : { weights: setup.weights }),
    seed: setup.seed,
  })
  const scored = Object.assign(evaluator, { info })
  const batch =
    pool === undefined
      ? `${setup.batchSize} Gaussian inputs with random labels`
      : `${setup.batchSize} ${loaded!.source} examples`
  return {
    network,
    description: `scoring with ${setup.proxies.join(', ')} (untrained ${setup.init}-initialised networks; minibatch: ${batch}); TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}`,
    evaluator: () => scored,
    ...builtSessionParts(cost),
  }
}
