/** Shared NB201 data for the bench scripts: architectures, targets and feature matrices. */
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import type { EncodingKind } from '@nasjs/search-space'
import { nb201 } from '@nasjs/search-space'

export function loadNb201Features(dataset: 'cifar10' | 'cifar100' | 'imagenet16-120' = 'cifar10') {
  const bench = loadNb201()
  const archs = Array.from({ length: bench.size }, (_, i) => bench.archAt(i))
  const y = bench.column(dataset, 'valid_acc')
  const encode = (kinds: readonly EncodingKind[]) =>
    archs.map((a) => {
      const parts = kinds.map((k) => nb201.encode(a, k))
      const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0))
      let o = 0
      for (const p of parts) {
        out.set(p, o)
        o += p.length
      }
      return out
    })
  /** Zero-cost and cost features: log params, log FLOPs, NASWOT, Zen (missing scores -> column minimum). */
  const free = nb201FreeFeatures(bench, dataset)
  const zcNames = free.names.map((n) => n.replace(/^log /, ''))
  const freeRows = archs.map((_a, i) => free.of(i))
  const zcCols = free.names.map((_, j) => Float64Array.from(freeRows, (r) => r[j]!))
  const withZc = (X: Float32Array[]) =>
    X.map((row, i) => {
      const out = new Float32Array(row.length + zcCols.length)
      out.set(row)
      zcCols.forEach((c, j) => (out[row.length + j] = c[i]!))
      return out
    })
  const onehot = encode(['onehot'])
  const path = encode(['path'])
  const adjacency = encode(['adjacency'])
  return {
    bench,
    archs,
    y,
    zcNames,
    features: {
      onehot,
      path,
      adjacency,
      'path+zc': withZc(path),
      'onehot+zc': withZc(onehot),
    },
  }
}
