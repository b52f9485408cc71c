import { NasError, formatAllowed } from '@nasjs/core'

/**
 * The NB201 datasets, by the names the CLI and the evaluators use.
 * @since 0.1.0
 */
export const NB201_DATASETS = ['cifar10', 'cifar100', 'imagenet16-120'] as const
/**
 * One of {@link NB201_DATASETS}.
 * @since 0.1.0
 */
export type Nb201Dataset = (typeof NB201_DATASETS)[number]

/**
 * HW-NAS-Bench devices (Li et al., 2021), measured per dataset: `latency.<device>` for all six
 * (ms; `edgetpu` is missing for 4,699 architectures), `energy.<device>` (mJ) where measured.
 * @since 0.1.0
 */
export const HW_NAS_BENCH_DEVICES = ['edgegpu', 'raspi4', 'edgetpu', 'pixel3', 'eyeriss', 'fpga'] as const
/**
 * One of {@link HW_NAS_BENCH_DEVICES}.
 * @since 0.1.0
 */
export type HwNasBenchDevice = (typeof HW_NAS_BENCH_DEVICES)[number]
/**
 * HW-NAS-Bench devices with an energy column.
 * @since 0.1.0
 */
export const HW_NAS_BENCH_ENERGY_DEVICES = [
  'edgegpu',
  'eyeriss',
  'fpga',
] as const satisfies readonly HwNasBenchDevice[]

/**
 * The 27 HELP device settings (Lee et al., 2021) on NB201: the CSV column name without `_ms`
 * (`<device>_<batch>` for GPUs, the device alone otherwise). HELP measured them with CIFAR-10
 * inputs, so they are metrics of the `cifar10` dataset only. `eyeriss`, `fpga`, `pixel3` and
 * `raspi4` are the HW-NAS-Bench CIFAR-10 measurements and are served from HW-NAS-Bench.
 * @since 0.1.0
 */
export const HELP_NB201_SETTINGS = [
  '1080ti_1',
  '1080ti_256',
  '1080ti_32',
  '2080ti_1',
  '2080ti_256',
  '2080ti_32',
  'essential_ph_1',
  'eyeriss',
  'fpga',
  'gold_6226',
  'gold_6240',
  'pixel2',
  'pixel3',
  'raspi4',
  'samsung_a50',
  'samsung_s7',
  'silver_4114',
  'silver_4210r',
  'titan_rtx_1',
  'titan_rtx_256',
  'titan_rtx_32',
  'titanx_1',
  'titanx_256',
  'titanx_32',
  'titanxp_1',
  'titanxp_256',
  'titanxp_32',
] as const
/**
 * One of {@link HELP_NB201_SETTINGS}.
 * @since 0.1.0
 */
export type HelpNb201Setting = (typeof HELP_NB201_SETTINGS)[number]

const HW_SET: ReadonlySet<string> = new Set(HW_NAS_BENCH_DEVICES)
/**
 * HELP settings that HW-NAS-Bench does not also have (their metric comes from the HELP table).
 * @since 0.1.0
 */
export const HELP_ONLY_NB201_SETTINGS: readonly HelpNb201Setting[] = HELP_NB201_SETTINGS.filter(
  (s) => !HW_SET.has(s),
)

/** Metric names of an NB201 dataset, in a fixed order. */
const metricNames = (dataset: Nb201Dataset): readonly string[] =>
  Object.freeze([
    'valid_acc',
    'test_acc',
    'params',
    'flops',
    ...HW_NAS_BENCH_DEVICES.map((d) => `latency.${d}`),
    ...HW_NAS_BENCH_ENERGY_DEVICES.map((d) => `energy.${d}`),
    'arithmetic_intensity.eyeriss',
    ...(dataset === 'cifar10' ? HELP_ONLY_NB201_SETTINGS.map((s) => `latency.${s}`) : []),
    'zen',
    ...(dataset === 'cifar10' ? ['naswot'] : []),
  ])

const METRICS: Readonly<Record<Nb201Dataset, readonly string[]>> = {
  cifar10: metricNames('cifar10'),
  cifar100: metricNames('cifar100'),
  'imagenet16-120': metricNames('imagenet16-120'),
}

/**
 * Every metric an NB201 query returns for `dataset`:
 *
 * | metric | meaning |
 * |---|---|
 * | `valid_acc` | validation accuracy (%) after 200 epochs, the search signal |
 * | `test_acc` | test accuracy (%) after 200 epochs, the reported result |
 * | `params`, `flops` | parameters (M) and FLOPs (M), counted from the skeleton |
 * | `latency.<device>` | HW-NAS-Bench latency (ms) on edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga |
 * | `energy.<device>` | HW-NAS-Bench energy (mJ) on edgegpu, eyeriss, fpga |
 * | `arithmetic_intensity.eyeriss` | HW-NAS-Bench's Eyeriss arithmetic intensity (ops/byte) |
 * | `latency.<setting>` | HELP latency (ms), CIFAR-10 only, e.g. `latency.titan_rtx_1`, `latency.gold_6226` |
 * | `zen`, `naswot` | zero-cost proxy scores (Zen-NAS; NASWOT on CIFAR-10 only); absent for the 341 disconnected cells |
 *
 * @example nb201MetricNames('cifar100').includes('latency.pixel3') // true
 * @since 0.1.0
 */
export function nb201MetricNames(dataset: string): readonly string[] {
  return METRICS[assertNb201Dataset(dataset)]
}

/**
 * Metrics that exist for an architecture without training it (for constraint checks before evaluating).
 * @since 0.1.0
 */
export function isCheapNb201Metric(name: string): boolean {
  return name !== 'valid_acc' && name !== 'test_acc'
}

/**
 * Returns `dataset` as an {@link Nb201Dataset} or throws a NasError listing the valid ones.
 * @since 0.1.0
 */
export function assertNb201Dataset(dataset: string): Nb201Dataset {
  if ((NB201_DATASETS as readonly string[]).includes(dataset)) return dataset as Nb201Dataset
  const hint =
    dataset === 'ImageNet16-120' || dataset === 'imagenet16_120' ? ` (did you mean 'imagenet16-120'?)` : ''
  throw new NasError({
    code: 'NOT_REGISTERED',
    message: `unknown NB201 dataset '${dataset}'${hint}; expected ${formatAllowed(NB201_DATASETS)}`,
    value: dataset,
    allowed: NB201_DATASETS,
  })
}

/**
 * Throws a NasError for a metric that `dataset` does not have, listing the valid ones.
 * @since 0.1.0
 */
export function assertNb201Metric(dataset: Nb201Dataset, metric: string): void {
  const names = METRICS[dataset]
  if (names.includes(metric)) return
  let why = ''
  if (metric.startsWith('latency.') && (HELP_NB201_SETTINGS as readonly string[]).includes(metric.slice(8))) {
    why = ` (HELP latencies were measured with CIFAR-10 inputs; use dataset 'cifar10')`
  } else if (metric === 'naswot') why = ` (NASWOT scores exist for CIFAR-10 only)`
  else if (metric.startsWith('energy.'))
    why = ` (HW-NAS-Bench has energy for ${HW_NAS_BENCH_ENERGY_DEVICES.join(', ')})`
  throw new NasError({
    code: 'METRIC_MISSING',
    message: `NB201 ${dataset} has no metric '${metric}'${why}; expected ${formatAllowed(names, 60)}`,
    value: metric,
    allowed: names,
  })
}
