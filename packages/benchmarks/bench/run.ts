/**
 * Benchmarks and acceptance experiments of @nasjs/benchmarks. Run from packages/benchmarks:
 *
 *   pnpm bench                 # everything
 *   pnpm bench load query      # only some sections: load, query, random, pareto, lut
 *
 * Prints Markdown; the figures in README.md come from this script.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { nb201, type Nb201Arch } from '@nasjs/search-space'

import {
  anytimeSvg,
  compare,
  compareOnNb201,
  evaluateLatencyLuts,
  formatSummary,
  randomSamplingRunner,
  toCsv,
  trueParetoFront,
} from '../src/index.js'
import { loadFbnet, loadNb201 } from '../src/node/index.js'

/** E[test accuracy of the best-by-signal of n uniform draws with replacement]; ties share their mean. */
function expectedBestOf(signal: Float64Array, test: Float64Array, n: number): number {
  const order = Array.from({ length: signal.length }, (_, i) => i).sort((a, b) => signal[a]! - signal[b]!)
  const N = signal.length
  let mean = 0
  for (let i = 0; i < N;) {
    let j = i
    let s = 0
    while (j < N && signal[order[j]!] === signal[order[i]!]) s += test[order[j++]!]!
    mean += ((j / N) ** n - (i / N) ** n) * (s / (j - i))
    i = j
  }
  return mean
}

const here = dirname(fileURLToPath(import.meta.url))
const sections = new Set(process.argv.slice(2))
const want = (s: string) => sections.size === 0 || sections.has(s)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const out = join(here, 'results')
mkdirSync(out, { recursive: true })

if (want('load')) {
  const once = (arg: string) =>
    Number(
      execFileSync(
        process.execPath,
        ['--import', 'tsx', '--conditions=@nasjs/source', join(here, 'load-once.ts'), arg],
        {
          encoding: 'utf8',
        },
      ).trim(),
    )
  once('cache') // make sure the binary cache exists
  const parse = Array.from({ length: 5 }, () => once('no-cache'))
  const cached = Array.from({ length: 5 }, () => once('cache'))
  console.log('## Loading all NB201 tables (fresh process each, 5 runs)\n')
  console.log('| path | median ms | min | max |\n|---|---|---|---|')
  console.log(
    `| parse 5 gzipped CSVs (no binary cache) | ${median(parse).toFixed(0)} | ${Math.min(...parse).toFixed(0)} | ${Math.max(...parse).toFixed(0)} |`,
  )
  console.log(
    `| binary cache under node_modules/.cache/nasjs | ${median(cached).toFixed(0)} | ${Math.min(...cached).toFixed(0)} | ${Math.max(...cached).toFixed(0)} |\n`,
  )
}

const bench = loadNb201()

if (want('query')) {
  const rate = (label: string, n: number, f: (k: number) => number) => {
    const runs: number[] = []
    let sink = 0
    for (let r = 0; r < 7; r++) {
      const t = performance.now()
      for (let k = 0; k < n; k++) sink += f(k)
      runs.push(n / ((performance.now() - t) / 1000))
    }
    if (Number.isNaN(sink)) throw new Error('sink')
    return `| ${label} | ${(median(runs) / 1e6).toFixed(2)} M/s |`
  }
  const archs = Array.from({ length: 15625 }, (_, i) => bench.archAt(i))
  const strs = Array.from({ length: 15625 }, (_, i) => bench.archStrAt(i))
  for (let i = 0; i < 15625; i++) bench.query(i, 'cifar10') // first touch builds the cached objects
  const col = bench.column('cifar10', 'test_acc')
  console.log('## Query throughput (median of 7 rounds)\n')
  console.log('| query | rate |\n|---|---|')
  console.log(
    rate(
      '`query(index, dataset)` (all 39 metrics)',
      3_000_000,
      (k) => bench.query(k % 15625, 'cifar10').test_acc!,
    ),
  )
  console.log(
    rate(
      '`query(Nb201Arch, dataset)`',
      2_000_000,
      (k) => bench.query(archs[k % 15625]!, 'cifar10').test_acc!,
    ),
  )
  console.log(
    rate('`query(arch_str, dataset)`', 300_000, (k) => bench.query(strs[k % 15625]!, 'cifar10').test_acc!),
  )
  console.log(rate('`column(dataset, metric)[index]`', 20_000_000, (k) => col[k % 15625]!))
  console.log('')
}

if (want('random')) {
  const seeds = 500
  const t = performance.now()
  const result = await compareOnNb201({
    bench,
    dataset: 'cifar10',
    budget: 100,
    seeds,
    runners: { random: randomSamplingRunner(nb201) },
  })
  const ms = performance.now() - t
  const s = result.summary[0]!
  console.log(`## Random search, best of 100 by validation accuracy, ${seeds} seeds (CIFAR-10)\n`)
  console.log(
    `search signal: valid_acc = c10valid_val_acc_nb201v10; reported: test_acc = test_acc_cifar10 (${ms.toFixed(0)} ms)\n`,
  )
  console.log(formatSummary(result, 3))
  writeFileSync(join(out, 'random-search-cifar10.csv'), toCsv(result, 'summary'))
  writeFileSync(
    join(out, 'random-search-cifar10.svg'),
    anytimeSvg(result, { title: 'Random search on NB201 CIFAR-10 (500 seeds)' }),
  )
  console.log(
    `mean ${s.final.mean.toFixed(3)} (published 93.84, difference ${(s.final.mean - 93.84).toFixed(3)}), std ${s.final.std.toFixed(3)} (published 0.23)\n`,
  )

  // the same protocol with NASLib's column as the search signal, for comparison
  const naslib = bench.rawColumn('naslib_val_acc_cifar10')
  const test = bench.column('cifar10', 'test_acc')
  const alt = await compare<Nb201Arch>({
    runners: { 'random (naslib_val_acc_cifar10 as signal)': randomSamplingRunner(nb201) },
    seeds,
    budget: 100,
    optimum: bench.best('cifar10', 'test_acc').value,
    evaluator: (a) => {
      const i = bench.indexOf(a)
      return Promise.resolve({ valid_acc: naslib[i]!, test_acc: test[i]! })
    },
  })
  console.log(formatSummary(alt, 3))
  console.log(
    `exact expectations (order statistics over the table): c10valid_val_acc_nb201v10 ${expectedBestOf(bench.column('cifar10', 'valid_acc'), test, 100).toFixed(3)}, naslib_val_acc_cifar10 ${expectedBestOf(naslib, test, 100).toFixed(3)}\n`,
  )
}

if (want('pareto')) {
  const objectives = ['valid_acc:max', 'latency.pixel3:min']
  const truth = trueParetoFront(bench, 'cifar10', objectives)
  console.log('## True (valid_acc, Pixel 3 latency) front of CIFAR-10\n')
  console.log(
    `${truth.keys.length} Pareto-optimal cells; reference point ${JSON.stringify(truth.reference.map((v) => Number(v.toFixed(4))))}\n`,
  )
  console.log('| index | valid_acc | latency.pixel3 (ms) |\n|---|---|---|')
  for (let i = 0; i < truth.keys.length; i += Math.ceil(truth.keys.length / 10)) {
    console.log(
      `| ${truth.keys[i]} | ${(-truth.points[i]![0]!).toFixed(2)} | ${truth.points[i]![1]!.toFixed(3)} |`,
    )
  }
  const result = await compareOnNb201({
    bench,
    dataset: 'cifar10',
    budget: 200,
    seeds: 100,
    objectives,
    runners: { random: randomSamplingRunner(nb201) },
  })
  console.log('\nRandom search, 200 queries, 100 seeds:\n')
  console.log(formatSummary(result, 3))
  writeFileSync(
    join(out, 'random-search-pareto.svg'),
    anytimeSvg(result, { curve: 'hypervolume', title: 'Relative hypervolume, random search' }),
  )
}

if (want('lut')) {
  const fb = loadFbnet()
  const t = performance.now()
  const reports = evaluateLatencyLuts(fb, { seed: 0, testFraction: 0.2 })
  const ms = performance.now() - t
  console.log(
    `## FBNet latency LUT: 4,000 train / 1,000 held-out architectures, seed 0 (fit + score all 27: ${ms.toFixed(0)} ms)\n`,
  )
  console.log(
    '| setting | R^2 train | R^2 held-out | Kendall tau | RMSE ms | MAPE % |\n|---|---|---|---|---|---|',
  )
  for (const r of reports) {
    console.log(
      `| ${r.setting} | ${r.r2Train.toFixed(4)} | ${r.r2.toFixed(4)} | ${r.kendallTau.toFixed(4)} | ${r.rmse.toFixed(3)} | ${r.mape.toFixed(2)} |`,
    )
  }
  console.log('')
}
