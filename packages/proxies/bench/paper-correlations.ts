// Kendall tau and Spearman rho of proxy scores computed by this package against NB201 CIFAR-10
// validation and test accuracy (200 epochs), for the comparison with the figures the proxies' own
// papers publish. Reads bench/suite-zero.ts's JSON lines (--scores file[,file...]); every proxy found
// in them is reported on the cells that have it.
// Run: cd packages/proxies && npx tsx --conditions=@nasjs/source bench/paper-correlations.ts --scores <file.jsonl>[,<file.jsonl>]
import { readFileSync } from 'node:fs'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { kendallTau, spearmanRho } from '@nasjs/core'
import { arg } from './suite-cells.js'

const bench = loadNb201()
const scores = new Map<string, Map<number, number>>()
for (const file of arg('scores', '').split(',').filter(Boolean)) {
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { index: number; scores: Record<string, number> }
    for (const [proxy, v] of Object.entries(r.scores)) {
      if (!scores.has(proxy)) scores.set(proxy, new Map())
      if (Number.isFinite(v)) scores.get(proxy)!.set(r.index, v)
    }
  }
}
const valid = bench.column('cifar10', 'valid_acc')
const test = bench.column('cifar10', 'test_acc')
const rows = [...scores.entries()].map(([proxy, byCell]) => {
  const cells = [...byCell.keys()]
  const s = cells.map((i) => byCell.get(i)!)
  const v = cells.map((i) => valid[i]!)
  const t = cells.map((i) => test[i]!)
  return {
    proxy,
    cells: cells.length,
    kendallValid: kendallTau(s, v),
    spearmanValid: spearmanRho(s, v),
    kendallTest: kendallTau(s, t),
    spearmanTest: spearmanRho(s, t),
  }
})
for (const r of rows) console.log(JSON.stringify(r))
