/**
 * LINAS vs NSGA-II on NAS-Bench-201 CIFAR-10 with two objectives (validation accuracy, Pixel 3
 * latency from HW-NAS-Bench): the fraction of the true Pareto front found (coverage) per query, mean
 * over seeds. The target: LINAS reaches NSGA-II's 1,000-query coverage within 500 queries.
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/linas-vs-nsga2.ts [--seeds 20] [--first-seed 0]
 *     [--linas '<config json>'] [--free-metrics params,flops,naswot,zen,live_ops,executed_ops] [--dry]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compareOnNb201 } from '@nasjs/benchmarks'
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import { nb201 } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, strategyRunner } from '@nasjs/strategies'
import { predictorStrategies } from '../src/index.js'
import { replaceSection } from './markdown.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    'first-seed': { type: 'string', default: '0' },
    'linas-budget': { type: 'string', default: '500' },
    'nsga2-budget': { type: 'string', default: '1000' },
    linas: { type: 'string', default: '{}' },
    'free-metrics': { type: 'string' },
    dry: { type: 'boolean', default: false },
  },
})
const seeds = Number(values.seeds)
// Seeds first..first+seeds-1 (a second, disjoint set checks that a result is not one seed set's luck).
const firstSeed = Number(values['first-seed'])
const seedList = Array.from({ length: seeds }, (_, i) => firstSeed + i)
const objectives = ['valid_acc:max', 'latency.pixel3:min'] as const
const registry = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
const bench = loadNb201()
// Free statistics (log params, log FLOPs, NASWOT, Zen-NAS) that LINAS may feed its models; no queries.
// `--free-metrics` picks them, e.g. params,flops,naswot,zen,live_ops,executed_ops.
const freeMetrics = values['free-metrics']?.split(',')
const free = nb201FreeFeatures(bench, 'cifar10', freeMetrics ? { metrics: freeMetrics } : {})
const runnerOf = (name: string, config: unknown) =>
  strategyRunner(registry, name, config, { space: nb201, objectives, cache: 'exact', features: free.of })
const linasConfig = JSON.parse(values.linas) as unknown
const t0 = performance.now()
const run = (name: string, config: unknown, budget: number) =>
  compareOnNb201({
    bench,
    dataset: 'cifar10',
    objectives,
    budget,
    seeds: seedList,
    runners: { [name]: runnerOf(name, config) },
    onProgress: (p) => console.error(`${p.strategy} seed ${p.seed} done (${p.done}/${p.total})`),
  })
const linasBudget = Number(values['linas-budget'])
const nsgaBudget = Number(values['nsga2-budget'])
const rl = await run('linas', linasConfig, linasBudget)
const rn = await run('nsga2', {}, nsgaBudget)
const minutes = (performance.now() - t0) / 60000
const cov = (r: typeof rl) => r.summary[0]!.coverage!
const hv = (r: typeof rl) => r.summary[0]!.hypervolume!
const target = cov(rn).mean[nsgaBudget - 1]!
const reach = cov(rl).mean.findIndex((c) => c >= target)
const checkpoints = [100, 200, 300, 400, 500, 750, 1000]
const rows = [
  '| queries | LINAS coverage | NSGA-II coverage | LINAS rel. hypervolume | NSGA-II rel. hypervolume |',
  '|---:|---:|---:|---:|---:|',
  ...checkpoints.map((q) => {
    const c = (r: typeof rl, b: number) => (q <= b ? cov(r).mean[q - 1]!.toFixed(3) : '-')
    const h = (r: typeof rl, b: number) => (q <= b ? hv(r).mean[q - 1]!.toFixed(4) : '-')
    return `| ${q} | ${c(rl, linasBudget)} | ${c(rn, nsgaBudget)} | ${h(rl, linasBudget)} | ${h(rn, nsgaBudget)} |`
  }),
]
const verdict =
  reach >= 0
    ? `LINAS reaches NSGA-II's ${nsgaBudget}-query mean coverage (${target.toFixed(3)}) after ${reach + 1} queries (mean over ${seeds} seeds).`
    : `LINAS does not reach NSGA-II's ${nsgaBudget}-query mean coverage (${target.toFixed(3)}) within ${linasBudget} queries; it ends at ${cov(rl).mean[linasBudget - 1]!.toFixed(3)}.`
const sdEnd = cov(rl).std[linasBudget - 1]!
console.log(rows.join('\n'))
// Per seed, for paired comparisons between configs run on the same seeds.
console.log(
  `LINAS coverage at ${linasBudget} per seed (${seedList.join(',')}): ${rl.runs.map((r) => r.coverageCurve![linasBudget - 1]!.toFixed(2)).join(' ')}`,
)
console.log(
  `LINAS coverage at ${linasBudget}: std over seeds ${sdEnd.toFixed(3)}, standard error ${(sdEnd / Math.sqrt(seeds)).toFixed(3)}`,
)
console.log(verdict, 'front size', rn.trueFrontSize)
if (!values.dry) {
  const file = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url))
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# @nasjs/predictors benchmarks\n'
  const body = [
    `Command: \`cd packages/predictors && nice -n 10 npx tsx --conditions=@nasjs/source bench/linas-vs-nsga2.ts --seeds ${seeds}${firstSeed !== 0 ? ` --first-seed ${firstSeed}` : ''}${values.linas !== '{}' ? ` --linas '${values.linas}'` : ''}${freeMetrics ? ` --free-metrics ${freeMetrics.join(',')}` : ''}\` (${minutes.toFixed(0)} min on this machine).`,
    '',
    `NAS-Bench-201 CIFAR-10, objectives \`valid_acc:max\` and \`latency.pixel3:min\` (HW-NAS-Bench Pixel 3 latency), true front of ${rn.trueFrontSize} architectures computed from the whole table. Coverage = fraction of the true front found; relative hypervolume = found / true. Mean over ${seeds} seeds (${firstSeed}-${firstSeed + seeds - 1}); the driver caches exact repeats only (latency is per architecture). LINAS config: ${JSON.stringify(registry.parseConfig('linas', linasConfig))}; NSGA-II: \`@nasjs/strategies\` defaults.`,
    '',
    ...rows,
    '',
    verdict,
  ].join('\n')
  writeFileSync(
    file,
    replaceSection(text, 'LINAS vs NSGA-II (NAS-Bench-201, accuracy and Pixel 3 latency)', body),
  )
  console.error(`wrote ${file}`)
}
