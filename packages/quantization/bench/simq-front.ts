/**
 * Does a searched mixed-precision front dominate the uniform-precision fronts at equal size? Reads
 * the summary.json of `nas supernet search --quant ...` runs (the mixed search first, then the
 * uniform references, e.g. `--quant int8` and `--quant int4`), and for every point of each reference
 * front finds the most accurate mixed-front point of at most its bytes: the gap in accuracy points
 * (positive: the mixed front is better at that size), and whether it dominates (accuracy at least
 * as high). Also the hypervolume of each front (accuracy max, bytes min) against a shared reference
 * point (0 % accuracy, the largest bytes of any front), and the same with `test_acc` when recorded.
 *
 *   npx tsx bench/simq-front.ts runs/simq-mixed runs/simq-int8 runs/simq-int4 [--json]
 */
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { hypervolume, nonDominatedSort } from '@nasjs/core'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false } },
})
if (positionals.length < 2) {
  process.stderr.write('usage: simq-front.ts <mixed run> <reference run>... [--json]\n')
  process.exit(2)
}
interface Point {
  readonly acc: number
  readonly test?: number
  readonly bytes: number
}
/** A run's evaluated trials (its journal), so that the front can be taken on either accuracy. */
function trials(dir: string): Point[] {
  return readFileSync(join(dir, 'trials.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string; outcome?: { metrics?: Record<string, number> } })
    .flatMap((l) => {
      const m = l.type === 'tell' ? l.outcome?.metrics : undefined
      return m?.acc === undefined || m.bytes === undefined
        ? []
        : [{ acc: m.acc, bytes: m.bytes, ...(m.test_acc === undefined ? {} : { test: m.test_acc }) }]
    })
}
const frontOf = (ps: readonly Point[], acc: (p: Point) => number) =>
  (nonDominatedSort(ps.map((p) => [-acc(p), p.bytes]))[0] ?? [])
    .map((i) => ps[i]!)
    .sort((a, b) => a.bytes - b.bytes)
const runs = positionals.map((dir) => ({ name: basename(dir), points: trials(dir) }))
const mixed = runs[0]
const hasTest = runs.every((r) => r.points.every((p) => p.test !== undefined))
const signals: { name: string; acc: (p: Point) => number }[] = [
  { name: 'acc (held-out, searched on)', acc: (p) => p.acc },
  ...(hasTest ? [{ name: 'test_acc (front by held-out acc)', acc: (p: Point) => p.test! }] : []),
]
const maxBytes = Math.max(...runs.flatMap((r) => r.points.map((p) => p.bytes)))
const out: Record<string, unknown>[] = []
for (const signal of signals) {
  // fronts are chosen on the searched signal (held-out acc); test_acc is read off the same points
  const fronts = runs.map((r) => ({ name: r.name, front: frontOf(r.points, (p) => p.acc) }))
  const hv = (f: readonly Point[]) =>
    hypervolume(
      f.map((p) => [-signal.acc(p), p.bytes]),
      [0, maxBytes * 1.01],
    )
  const mixedFront = fronts[0]!.front
  for (const ref of fronts.slice(1)) {
    const gaps = ref.front.map((p) => {
      const within = mixedFront.filter((q) => q.bytes <= p.bytes)
      const best = within.length === 0 ? undefined : Math.max(...within.map(signal.acc))
      return {
        bytes: p.bytes,
        acc: signal.acc(p),
        mixed: best,
        gap: best === undefined ? undefined : best - signal.acc(p),
      }
    })
    const dominated = gaps.filter((g) => g.gap !== undefined && g.gap >= 0).length
    out.push({
      signal: signal.name,
      mixed: mixed!.name,
      reference: ref.name,
      referencePoints: ref.front.length,
      dominated,
      meanGap: gaps.reduce((s, g) => s + (g.gap ?? 0), 0) / Math.max(1, gaps.length),
      minGap: Math.min(...gaps.map((g) => g.gap ?? -Infinity)),
      hypervolume: { mixed: hv(mixedFront), reference: hv(ref.front) },
      gaps,
    })
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`)
else {
  process.stdout.write(
    `trials: ${runs.map((r) => `${r.name} ${r.points.length}`).join(', ')}; fronts on held-out acc\n\n`,
  )
  process.stdout.write(
    '| accuracy | reference front | its points | dominated at equal or smaller size | mean gap (points) | smallest gap | hypervolume mixed / reference |\n| --- | --- | --- | --- | --- | --- | --- |\n',
  )
  for (const r of out as {
    signal: string
    reference: string
    referencePoints: number
    dominated: number
    meanGap: number
    minGap: number
    hypervolume: { mixed: number; reference: number }
  }[]) {
    process.stdout.write(
      `| ${r.signal} | ${r.reference} | ${r.referencePoints} | ${r.dominated} | ${r.meanGap.toFixed(2)} | ${r.minGap.toFixed(2)} | ${(r.hypervolume.mixed / 1e6).toFixed(1)} / ${(r.hypervolume.reference / 1e6).toFixed(1)} (x1e6) |\n`,
    )
  }
}
