// Our proxies against NAS-Bench-Suite-Zero: N random canonical NB201 cells (seeded), each the full
// CIFAR-10 network (16 channels, 5 cells per stage, 32x32x3, 10 classes) with PyTorch's default
// initialisation, scored by every proxy on one batch of 64; Spearman of each proxy with the suite's
// published score of the same cell and with the benchmark's CIFAR-10 accuracies; seconds per proxy.
// Results go one line per cell to --out (default node_modules/.cache/nasjs/suite-zero-<data>.jsonl),
// and a rerun continues where the last one stopped.
// Run: cd packages/proxies && nice -n 10 npx tsx --conditions=@nasjs/source bench/suite-zero.ts [--sample 300] [--data fashion-mnist|random] [--batch 64] [--proxies all|synflow,zen,...] [--shard k/n]
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { initBackend } from '@nasjs/backend'
import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
import { spearmanRho } from '@nasjs/core'
import { createProxyRegistry, scoreProxies } from '../src/index.js'
import { arg, suiteCell, suiteCells, suiteData } from './suite-cells.js'

const sample = Number(arg('sample', '300'))
const batchSize = Number(arg('batch', '64'))
const dataName = arg('data', 'fashion-mnist')
const proxyList = arg('proxies', 'all')
const shard = arg('shard', '0/1').split('/').map(Number) as [number, number]
const base = arg(
  'out',
  join(
    process.cwd(),
    `../../node_modules/.cache/nasjs/suite-zero-${dataName}-${proxyList.replaceAll(',', '+')}.jsonl`,
  ),
)
// shards (--shard k/n: every n-th cell from the k-th) write their own files; every run reads them all
const out = shard[1] === 1 ? base : `${base}.shard-${shard[0]}-of-${shard[1]}`
const backend = await initBackend({ quiet: true })
const bench = loadNb201()
const zc = loadNb201ZeroCost(bench, 'cifar10')
const proxies = createProxyRegistry().parseList(proxyList)

const data = await suiteData(dataName)
const cells = suiteCells(bench, sample)

mkdirSync(dirname(out), { recursive: true })
const done = new Map<number, { scores: Record<string, number>; seconds: Record<string, number> }>()
for (const file of [
  base,
  ...Array.from({ length: 8 }, (_, n) =>
    Array.from({ length: n + 1 }, (_, k) => `${base}.shard-${k}-of-${n + 1}`),
  ).flat(),
]) {
  if (!existsSync(file)) continue
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as {
      index: number
      scores: Record<string, number>
      seconds: Record<string, number>
    }
    done.set(r.index, r)
  }
}
const t0 = performance.now()
for (const [k, index] of cells.entries()) {
  if (done.has(index) || k % shard[1] !== shard[0]) continue
  const { model, batch, rng } = suiteCell(bench, index, data, batchSize)
  const res = await scoreProxies(model, proxies, batch, rng)
  model.dispose()
  const r = {
    index,
    arch: bench.archStrAt(index),
    scores: Object.fromEntries(res.map((s) => [s.proxy, s.score])),
    seconds: Object.fromEntries(res.map((s) => [s.proxy, s.seconds])),
  }
  appendFileSync(out, `${JSON.stringify(r)}\n`)
  done.set(index, r)
  const elapsed = (performance.now() - t0) / 1000
  console.error(
    `${k + 1}/${cells.length} ${r.arch} ${res.map((s) => `${s.proxy} ${s.score.toFixed(3)}`).join(' ')} (${res.reduce((t, s) => t + s.seconds, 0).toFixed(1)} s; ${elapsed.toFixed(0)} s so far)`,
  )
}

// Spearman over the cells where both sides have a finite score (the suite stores failures as -1e8)
const published = (p: string, i: number): number => {
  const col = (zc.columns as Record<string, Float64Array>)[p] ?? (zc.suite as Record<string, Float64Array>)[p]
  const v = col![i]!
  return v === -1e8 ? Number.NaN : v
}
const testAcc = bench.column('cifar10', 'test_acc')
const validAcc = bench.column('cifar10', 'valid_acc')
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2
}
if (cells.some((i) => !done.has(i))) {
  console.error(
    `shard ${shard.join('/')} done; the summary needs every shard (rerun without --shard when all have finished)`,
  )
  process.exit(0)
}
const rows = cells.map((i) => done.get(i)!)
const table = proxies.map((p) => {
  const pairs = cells.map(
    (i, k) => [rows[k]!.scores[p.name]!, published(p.name, i), testAcc[i]!, validAcc[i]!] as const,
  )
  const ok = pairs.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
  const okOurs = pairs.filter(([a]) => Number.isFinite(a))
  return {
    proxy: p.name,
    cells: ok.length,
    spearmanVsSuite: spearmanRho(
      ok.map((q) => q[0]),
      ok.map((q) => q[1]),
    ),
    oursVsTestAcc: spearmanRho(
      okOurs.map((q) => q[0]),
      okOurs.map((q) => q[2]),
    ),
    suiteVsTestAcc: spearmanRho(
      ok.map((q) => q[1]),
      ok.map((q) => q[2]),
    ),
    oursVsValidAcc: spearmanRho(
      okOurs.map((q) => q[0]),
      okOurs.map((q) => q[3]),
    ),
    medianSeconds: median(rows.map((r) => r.seconds[p.name]!)),
  }
})
console.log(
  JSON.stringify(
    { backend: backend.name, data: dataName, batchSize, cells: cells.length, proxies: table },
    null,
    1,
  ),
)
