/**
 * Does a supernet search's front dominate the front of subnets trained alone? Reads the run
 * directory of `nas supernet search` (its trials.jsonl: held-out accuracy and FLOPs), measures the
 * test accuracy of its front's subnets with the supernet (BatchNorm recalibrated on 500 training
 * images, the 10,000 Fashion-MNIST test images), reads the standalone results of
 * `bench/fmnist.ts standalone`, and compares the two fronts of (test accuracy max, FLOPs min): for
 * every standalone front point, the searched subnet that dominates it (test accuracy at least as
 * high, FLOPs at most as many), and the hypervolumes of both fronts against the same reference
 * point (0 % accuracy, the largest FLOPs of either set).
 *
 *   npx tsx --conditions=@nasjs/source bench/front.ts --run runs/nsga2 --supernet runs/bignas --standalone runs/standalone.jsonl [--train 5000] [--seed 0] [--json]
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { hypervolume, nonDominatedSort } from '@nasjs/core'
import { loadDataset } from '@nasjs/models/node'
import type { OfaArch } from '@nasjs/search-space'
import { evaluateSubnet, recalibrate, type ElasticMbv3 } from '../src/index.js'
import { loadSupernet } from '../src/node/index.js'

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    supernet: { type: 'string' },
    standalone: { type: 'string' },
    train: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
})
await initBackend({ quiet: true })
interface Point {
  readonly label: string
  readonly acc: number
  readonly flops: number
}
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
const journal = lines(join(values.run!, 'trials.jsonl'))
const asked = new Map(
  journal.filter((l) => l['type'] === 'ask').map((l) => [l['trial'], (l['arch'] as { arch: OfaArch }).arch]),
)
const evaluated = journal
  .filter((l) => l['type'] === 'tell')
  .flatMap((l) => {
    const m = (l['outcome'] as { metrics?: { acc: number; flops: number } }).metrics
    const arch = asked.get(l['trial'])
    return m === undefined || arch === undefined
      ? []
      : [{ label: `trial ${String(l['trial'])}`, arch, acc: m.acc, flops: m.flops }]
  })
// the search's front on its own signal (held-out accuracy), then each member's test accuracy
const searchFront = nonDominatedSort(evaluated.map((p) => [-p.acc, p.flops]))[0] ?? []
const net = loadSupernet(values.supernet!).net as ElasticMbv3
const data = await loadDataset('fashion-mnist', {
  train: Number(values.train),
  valid: 1000,
  seed: Number(values.seed),
})
const searched: Point[] = searchFront.map((i) => {
  const p = evaluated[i]!
  const bn = recalibrate(net, p.arch, data.train, { images: 500 })
  return { label: p.label, acc: 100 * evaluateSubnet(net, p.arch, data.test, { bn }).acc, flops: p.flops }
})
net.dispose()
const standalone: Point[] = lines(values.standalone!).map((r) => ({
  label: String(r['label']),
  acc: 100 * (r['testAcc'] as number),
  flops: r['flops'] as number,
}))
/** The non-dominated points of `ps` (accuracy up, FLOPs down). */
const front = (ps: readonly Point[]) => {
  const first = nonDominatedSort(ps.map((p) => [-p.acc, p.flops]))[0] ?? []
  return first.map((i) => ps[i]!).sort((a, b) => a.flops - b.flops)
}
const sFront = front(searched)
const aFront = front(standalone)
const ref = [0, Math.max(...searched.map((p) => p.flops), ...standalone.map((p) => p.flops)) * 1.01]
const hv = (ps: readonly Point[]) =>
  hypervolume(
    ps.map((p) => [-p.acc, p.flops]),
    [-ref[0]!, ref[1]!],
  )
const rows = aFront.map((a) => {
  const by = sFront.filter((s) => s.acc >= a.acc && s.flops <= a.flops).sort((x, y) => y.acc - x.acc)[0]
  return {
    standalone: a.label,
    acc: a.acc,
    mflops: a.flops / 1e6,
    dominatedBy: by?.label ?? '-',
    byAcc: by?.acc,
    byMflops: by === undefined ? undefined : by.flops / 1e6,
  }
})
const result = {
  searched: evaluated.length,
  searchedFront: sFront.length,
  standaloneFront: aFront.length,
  dominated: rows.filter((r) => r.dominatedBy !== '-').length,
  hypervolume: { searched: hv(sFront), standalone: hv(aFront) },
  searchedFrontPoints: sFront,
  rows,
}
if (values.json) console.log(JSON.stringify(result, null, 2))
else {
  console.log(
    `${result.dominated} of the ${result.standaloneFront} standalone front points are dominated by the searched front (${result.searchedFront} of ${result.searched} subnets); hypervolume ${result.hypervolume.searched.toExponential(4)} searched, ${result.hypervolume.standalone.toExponential(4)} standalone`,
  )
  console.table(rows)
}
