/**
 * BANANAS vs regularized evolution (and random search) on NAS-Bench-201 CIFAR-10: each run has 100
 * queries (evaluator calls); the incumbent is the best by validation accuracy and is reported by its
 * test accuracy. Seeds can be split over processes (`--first`, `--seeds`, `--out part.json`) and
 * merged (`--merge a.json,b.json`), which writes the table into BENCHMARKS.md.
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/bananas-vs-rea.ts --seeds 100
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compareOnNb201 } from '@nasjs/benchmarks'
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import { nb201 } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, strategyRunner } from '@nasjs/strategies'
import { predictorStrategies } from '../src/index.js'
import { prepareTf } from '../src/tf-backend.js'
import { replaceSection } from './markdown.js'

interface Part {
  readonly budget: number
  readonly minutes: number
  readonly optimum: number
  /** The BANANAS config of the run (`--bananas`). */
  readonly bananas?: string
  readonly freeMetrics?: string | undefined
  readonly runs: readonly { strategy: string; seed: number; test: number; valid: number }[]
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    first: { type: 'string', default: '0' },
    budget: { type: 'string', default: '100' },
    strategies: { type: 'string', default: 'bananas,rea,random' },
    bananas: { type: 'string', default: '{}' },
    'free-metrics': { type: 'string' },
    out: { type: 'string' },
    merge: { type: 'string' },
    dry: { type: 'boolean', default: false },
  },
})

async function runPart(): Promise<Part> {
  await prepareTf()
  const registry = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
  const bench = loadNb201()
  // Free statistics (log params, log FLOPs, NASWOT, Zen-NAS, or `--free-metrics`) for
  // `--bananas '{"extraFeatures":true}'`.
  const metrics = values['free-metrics']?.split(',')
  const free = nb201FreeFeatures(bench, 'cifar10', metrics ? { metrics } : {})
  const runners = Object.fromEntries(
    values.strategies.split(',').map((n) => [
      n,
      strategyRunner(registry, n, n === 'bananas' ? (JSON.parse(values.bananas) as unknown) : {}, {
        space: nb201,
        objectives: ['valid_acc:max'],
        features: free.of,
      }),
    ]),
  )
  const first = Number(values.first)
  const t0 = performance.now()
  const result = await compareOnNb201({
    bench,
    dataset: 'cifar10',
    budget: Number(values.budget),
    seeds: Array.from({ length: Number(values.seeds) }, (_, i) => first + i),
    runners,
    onProgress: (p) =>
      console.error(`${p.strategy} seed ${p.seed}: ${p.final.toFixed(2)} (${p.done}/${p.total})`),
  })
  return {
    budget: result.budget,
    minutes: (performance.now() - t0) / 60000,
    optimum: result.optimum ?? NaN,
    bananas: values.bananas,
    freeMetrics: values['free-metrics'],
    runs: result.runs.map((r) => ({
      strategy: r.strategy,
      seed: r.seed,
      test: r.final.report,
      valid: r.final.search,
    })),
  }
}

const parts: Part[] = values.merge
  ? values.merge.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as Part)
  : [await runPart()]
if (values.out) {
  writeFileSync(values.out, JSON.stringify(parts[0]))
  console.error(`wrote ${values.out}`)
} else {
  const runs = parts.flatMap((p) => p.runs)
  const optimum = parts[0]!.optimum
  const strategies = [...new Set(runs.map((r) => r.strategy))]
  const stats = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1))
    return { m, sd, se: sd / Math.sqrt(xs.length) }
  }
  const rows = [
    '| strategy | runs | test accuracy of the incumbent (mean ± std) | standard error | validation accuracy | regret (test) |',
    '|---|---:|---:|---:|---:|---:|',
    ...strategies.map((s) => {
      const rs = runs.filter((r) => r.strategy === s)
      const t = stats(rs.map((r) => r.test))
      const v = stats(rs.map((r) => r.valid))
      return `| ${s} | ${rs.length} | ${t.m.toFixed(2)} ± ${t.sd.toFixed(2)} | ${t.se.toFixed(3)} | ${v.m.toFixed(2)} | ${(optimum - t.m).toFixed(2)} |`
    }),
  ]
  const finals = (s: string) => new Map(runs.filter((r) => r.strategy === s).map((r) => [r.seed, r.test]))
  const b = finals('bananas')
  const r = finals('rea')
  const diffs = [...b].filter(([s]) => r.has(s)).map(([s, v]) => v - r.get(s)!)
  const d = stats(diffs)
  const wins = diffs.filter((x) => x > 0).length
  const ties = diffs.filter((x) => x === 0).length
  const line = `Paired over ${diffs.length} seeds: BANANAS - REA = ${d.m.toFixed(3)} ± ${d.se.toFixed(3)} (standard error) test accuracy points; BANANAS better on ${wins}, tied on ${ties}, worse on ${diffs.length - wins - ties} seeds.`
  console.log(rows.join('\n'))
  console.log(line)
  if (!values.dry) {
    const file = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url))
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '# @nasjs/predictors benchmarks\n'
    const minutes = parts.reduce((s, p) => s + p.minutes, 0)
    const config = parts[0]!.bananas ?? '{}'
    const custom = config !== '{}'
    const fm = parts[0]!.freeMetrics
    const body = [
      `Command: \`cd packages/predictors && nice -n 10 npx tsx --conditions=@nasjs/source bench/bananas-vs-rea.ts --seeds ${runs.length / strategies.length}${custom ? ` --bananas '${config}'` : ''}${fm ? ` --free-metrics ${fm}` : ''}\` (or split: \`--first 0 --seeds 50 --out a.json\`, \`--first 50 --seeds 50 --out b.json\`, then \`--merge a.json,b.json\`; ${minutes.toFixed(0)} process-minutes on this shared 2-core machine).`,
      '',
      `NAS-Bench-201 CIFAR-10, ${parts[0]!.budget} queries per run (evaluator calls; the driver's functional-hash cache answers repeats for free). The incumbent is the best architecture by validation accuracy (\`valid_acc\`, cifar10-valid split); the table reports its test accuracy (\`test_acc\`, 200 epochs; best in the space ${optimum.toFixed(2)}). Default configs: BANANAS = 5-MLP ensemble on the path encoding, independent Thompson sampling, 10 random architectures, then per fit 100 mutants (1-2 mutations) of the 10 best architectures scored and the top 10 evaluated${custom ? `, with the config \`${config}\` on top (\`extraFeatures\`: the models also get ${fm ? `the free statistics ${fm}` : 'log params, log FLOPs, NASWOT and Zen-NAS scores'}, which cost no query)` : ''}; REA = population 30, tournament 10; random = random search.`,
      '',
      ...rows,
      '',
      line,
    ].join('\n')
    writeFileSync(
      file,
      replaceSection(
        text,
        fm
          ? 'BANANAS with free and structure features vs regularized evolution (NAS-Bench-201 CIFAR-10)'
          : custom
            ? 'BANANAS with free features vs regularized evolution (NAS-Bench-201 CIFAR-10)'
            : 'BANANAS vs regularized evolution (NAS-Bench-201 CIFAR-10)',
        body,
      ),
    )
    console.error(`wrote ${file}`)
  }
}
