// Counts the isomorphism classes of the NB101 space with nb101Canonical (the hash) by enumerating
// every labelled cell. NAS-Bench-101 reports 423,624 unique cells.
// Run: npx tsx --conditions=@nasjs/source bench/nb101-classes.ts
import { nb101, nb101Canonical, NB101_OPS, type Nb101Arch } from '../src/index.js'

const t0 = performance.now()
const classes = new Set<string>()
let labelled = 0
for (let n = 2; n <= 7; n++) {
  const before = classes.size
  // walk the decision tree: vertex count n, then ops, then edges
  const rec = (prefix: number[]) => {
    const d = nb101.decisions.next(prefix)
    if (d === undefined) {
      const a: Nb101Arch = nb101.decisions.build(prefix)
      labelled++
      classes.add(nb101Canonical(a))
      return
    }
    for (let k = 0; k < d.size; k++) {
      prefix.push(k)
      rec(prefix)
      prefix.pop()
    }
  }
  rec([n - 2])
  console.log(`n=${n}: ${classes.size - before} classes (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
}
console.log(`labelled cells ${labelled} (size() ${nb101.size()}), isomorphism classes ${classes.size}`)
void NB101_OPS
