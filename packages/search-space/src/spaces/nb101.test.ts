import { fc, test } from '@fast-check/vitest'
import { NasError, Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { nb101, nb101Canonical, nb101CountsByVertices, nb101Prune, type Nb101Arch } from './nb101.js'

describeSpaceConformance(nb101, { runs: 30 })

/** Relabels the middle vertices by `perm` (new k is old perm[k-1]); undefined if not topological. */
function relabel(a: Nb101Arch, perm: number[]): Nb101Arch | undefined {
  const n = a.ops.length
  const old = [0, ...perm.map((p) => p + 1), n - 1]
  const matrix = old.map((i) => old.map((j) => a.matrix[i]![j]!))
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) if (matrix[i]![j]) return undefined
  return { matrix, ops: old.map((v) => a.ops[v]!) }
}

function allPerms(m: number): number[][] {
  if (m === 0) return [[]]
  return allPerms(m - 1).flatMap((p) =>
    Array.from({ length: m }, (_, i) => [...p.slice(0, i), m - 1, ...p.slice(i)]),
  )
}

// the cell of NAS-Bench-101's README example
const README_CELL: Nb101Arch = {
  matrix: [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
  ],
  ops: [
    'input',
    'conv3x3-bn-relu',
    'conv3x3-bn-relu',
    'conv3x3-bn-relu',
    'conv3x3-bn-relu',
    'maxpool3x3',
    'output',
  ],
}

describe('nb101 space', () => {
  it('accepts the NAS-Bench-101 README cell', () => {
    expect(nb101.check(README_CELL)).toBeUndefined()
    expect(nb101.parse(JSON.stringify(README_CELL))).toEqual(README_CELL)
  })

  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 })], { numRuns: 40 })(
    'hash is invariant under every isomorphic relabelling of the middle vertices',
    (s) => {
      const a = nb101.sample(new Rng(s))
      const h = nb101.hash(a)
      let relabelled = 0
      for (const p of allPerms(a.ops.length - 2)) {
        const b = relabel(a, p)
        if (b === undefined) continue
        relabelled++
        expect(nb101.check(b)).toBeUndefined()
        expect(nb101.hash(b)).toBe(h)
      }
      expect(relabelled).toBeGreaterThan(0)
    },
  )

  it('separates non-isomorphic cells', () => {
    const a = README_CELL
    const b: Nb101Arch = { ...a, ops: a.ops.map((o, i) => (i === 1 ? 'conv1x1-bn-relu' : o)) }
    const c: Nb101Arch = { ...a, ops: a.ops.map((o, i) => (i === 2 ? 'conv1x1-bn-relu' : o)) }
    expect(nb101.hash(b)).not.toBe(nb101.hash(a))
    // vertices 1 and 2 are symmetric (input -> v -> output), so changing either gives the same cell
    expect(nb101.hash(c)).toBe(nb101.hash(b))
    expect(nb101Canonical(a)).toMatch(/^7:/)
  })

  it('enforces the benchmark validity rules', () => {
    const tooMany: Nb101Arch = {
      matrix: [
        [0, 1, 1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
      ],
      ops: README_CELL.ops,
    }
    expect(nb101.check(tooMany)?.message).toMatch(/13 edges; NB101 allows at most 9/)
    const lower = {
      matrix: [
        [0, 1],
        [1, 0],
      ],
      ops: ['input', 'output'],
    }
    expect(nb101.check(lower)?.path).toEqual(['matrix', 1, 0])
    const badOp = { ...README_CELL, ops: README_CELL.ops.map((o, i) => (i === 3 ? 'conv5x5' : o)) }
    const e = nb101.check(badOp)!
    expect(e.path).toEqual(['ops', 3])
    expect(e.allowed).toEqual(['conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3'])
    const dangling = {
      matrix: [
        [0, 1, 1],
        [0, 0, 0],
        [0, 0, 0],
      ],
      ops: ['input', 'maxpool3x3', 'output'],
    }
    expect(nb101.check(dangling)?.message).toMatch(/nb101Prune/)
    expect(() => nb101.validate(dangling)).toThrow(NasError)
  })

  it('prunes vertices off every input-output path, as ModelSpec does', () => {
    const spec = {
      matrix: [
        [0, 1, 1],
        [0, 0, 0],
        [0, 0, 0],
      ],
      ops: ['input', 'maxpool3x3', 'output'],
    }
    expect(nb101Prune(spec)).toEqual({
      matrix: [
        [0, 1],
        [0, 0],
      ],
      ops: ['input', 'output'],
    })
    expect(nb101.parse(JSON.stringify(spec))).toEqual({
      matrix: [
        [0, 1],
        [0, 0],
      ],
      ops: ['input', 'output'],
    })
    expect(() =>
      nb101Prune({
        matrix: [
          [0, 0],
          [0, 0],
        ],
        ops: ['input', 'output'],
      }),
    ).toThrow(/no path from input/)
  })

  it('counts every labelled cell: per vertex count, a brute force through nb101Prune agrees', () => {
    const counts = nb101CountsByVertices()
    for (let n = 2; n <= 6; n++) {
      const pairs: [number, number][] = []
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j])
      let valid = 0
      for (let mask = 0; mask < 2 ** pairs.length; mask++) {
        const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0))
        pairs.forEach(([i, j], e) => (matrix[i]![j] = (mask >> e) & 1))
        const ops = ['input', ...new Array<string>(n - 2).fill('maxpool3x3'), 'output']
        try {
          // a cell of the space is one that pruning leaves unchanged
          if (nb101Prune({ matrix, ops }).ops.length === n) valid++
        } catch {
          // disconnected or more than 9 edges
        }
      }
      expect(counts[n]).toBe(BigInt(valid) * 3n ** BigInt(n - 2))
    }
    expect(counts.reduce((x, y) => x + y, 0n)).toBe(nb101.size())
    expect(nb101.size()).toBe(1293208n)
  })

  it('walks the decision tree through every cell of up to 5 vertices, counting isomorphism classes', () => {
    // bench/nb101-classes.ts does the full walk: 1,293,208 cells, 423,624 classes (NAS-Bench-101's count)
    const counts = nb101CountsByVertices()
    const classesByN: number[] = []
    for (let n = 2; n <= 5; n++) {
      const classes = new Set<string>()
      let cells = 0
      const rec = (prefix: number[]) => {
        const d = nb101.decisions.next(prefix)
        if (d === undefined) {
          cells++
          classes.add(nb101.hash(nb101.decisions.build(prefix)))
          return
        }
        for (let k = 0; k < d.size; k++) {
          prefix.push(k)
          rec(prefix)
          prefix.pop()
        }
      }
      rec([n - 2])
      expect(BigInt(cells)).toBe(counts[n])
      classesByN.push(classes.size)
    }
    expect(classesByN).toEqual([1, 6, 84, 2441])
  })

  it('decides vertex count, ops, then only the edges that are not forced', () => {
    expect(nb101.decisions.next([])).toMatchObject({ name: 'vertices', size: 6 })
    expect(
      nb101.decisions.decide({
        matrix: [
          [0, 1],
          [0, 0],
        ],
        ops: ['input', 'output'],
      }),
    ).toEqual([0])
    expect(nb101.decisions.build([0])).toEqual({
      matrix: [
        [0, 1],
        [0, 0],
      ],
      ops: ['input', 'output'],
    })
    // 3 vertices: the op of vertex 1, then the only free edge is 0->2 (0->1 and 1->2 are forced)
    expect(nb101.decisions.next([1, 2])).toMatchObject({ name: 'edge.0->2', size: 2 })
    expect(nb101.decisions.build([1, 2, 0]).matrix).toEqual([
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 0],
    ])
  })

  it('encodes BANANAS paths of the README cell', () => {
    const p = nb101.encode(README_CELL, 'path')
    expect(p.length).toBe(364)
    // paths: 0-1-6, 0-2-6, 0-3-4-6, 0-5-6: conv3 (twice, one bit), conv3-conv3, maxpool
    expect([...p].reduce((x, y) => x + y, 0)).toBe(3)
    expect(p[1 + 0]).toBe(1)
    expect(p[1 + 2]).toBe(1)
    expect(p[4 + 0]).toBe(1)
    const adj = nb101.encode(README_CELL, 'adjacency')
    expect([...adj.slice(0, 21)].reduce((x, y) => x + y, 0)).toBe(9)
  })
})
