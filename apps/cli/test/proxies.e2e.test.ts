import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, tempDir } from './helpers.js'

const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'

interface Scores {
  ok: boolean
  scores: { proxy: string; score: number; source: string }[]
}
interface Correlations {
  ok: boolean
  sample: number
  proxies: { proxy: string; spearman: number; kendall: number; cells: number }[]
}

beforeAll(() => assertBuilt())

describe('nas proxies', () => {
  const cwd = tempDir()

  it('list names the thirteen proxies and what each needs', () => {
    const r = nas(cwd, ['proxies', 'list', '--json'])
    expect(r.status).toBe(0)
    const list = r.json() as { name: string; needs: string }[]
    expect(list).toHaveLength(13)
    expect(list.find((p) => p.name === 'snip')?.needs).toBe('labels')
    expect(list.find((p) => p.name === 'synflow')?.needs).toBe('data-free')
  })

  it('score --source table reads the published scores of the canonical cell', () => {
    const r = nas(cwd, [
      'proxies',
      'score',
      '--source',
      'table',
      '--arch',
      BEST,
      '--proxy',
      'synflow,params,flops',
      '--json',
    ])
    expect(r.status).toBe(0)
    const s = r.json() as Scores
    expect(s.scores.map((x) => x.proxy)).toEqual(['synflow', 'params', 'flops'])
    expect(s.scores[1]!.score).toBeCloseTo(1.07347, 5)
    expect(s.scores[2]!.score).toBeCloseTo(155.584, 3)
    // node 2 has no input, so the 1x1 convolution from it is dead: the cell reads its canonical row
    const dead = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    const canonical = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|'
    const a = nas(cwd, ['proxies', 'score', '--source', 'table', '--arch', dead, '--json']).json() as Scores
    const b = nas(cwd, [
      'proxies',
      'score',
      '--source',
      'table',
      '--arch',
      canonical,
      '--json',
    ]).json() as Scores
    expect(a.scores).toEqual(b.scores)
  })

  it('score computes the data-free proxies of the full CIFAR-10 network close to the published ones', () => {
    const args = [
      'proxies',
      'score',
      '--arch',
      BEST,
      '--proxy',
      'synflow,params,flops',
      '--data',
      'random',
      '--json',
    ]
    const ours = (nas(cwd, args).json() as Scores).scores
    const table = (nas(cwd, [...args, '--source', 'table']).json() as Scores).scores
    expect(ours.every((s) => s.source === 'computed')).toBe(true)
    expect(ours[0]!.score).toBeCloseTo(table[0]!.score, 0) // log synflow within 0.5
    expect(ours[1]!.score).toBeCloseTo(table[1]!.score, 6)
    expect(ours[2]!.score).toBeCloseTo(table[2]!.score, 6)
  }, 120_000)

  it('correlate --source table gives Spearman and Kendall of every proxy on the sampled cells', () => {
    const r = nas(cwd, ['proxies', 'correlate', '--source', 'table', '--sample', '200', '--json'])
    expect(r.status).toBe(0)
    const c = r.json() as Correlations
    expect(c.sample).toBe(200)
    expect(c.proxies).toHaveLength(13)
    const nwot = c.proxies.find((p) => p.proxy === 'nwot')!
    expect(nwot.spearman).toBeGreaterThan(0.6)
    expect(Math.abs(nwot.kendall)).toBeLessThan(Math.abs(nwot.spearman))
    expect(c.proxies.find((p) => p.proxy === 'plain')!.spearman).toBeLessThan(0)
  })

  it('rank evaluates only the top k and picks by validation accuracy', () => {
    const r = nas(cwd, [
      'proxies',
      'rank',
      '--source',
      'table',
      '--proxy',
      'synflow,jacov,snip',
      '--sample',
      '500',
      '--top',
      '5',
      '--json',
    ])
    expect(r.status).toBe(0)
    const j = r.json() as {
      queries: number
      top: { valid_acc: number }[]
      picked: { valid_acc: number; test_acc: number }
    }
    expect(j.queries).toBe(5)
    expect(j.picked.valid_acc).toBe(Math.max(...j.top.map((t) => t.valid_acc)))
    expect(j.picked.test_acc).toBeGreaterThan(90)
  })

  it('bad input gets one NasError', () => {
    const unknown = nas(cwd, ['proxies', 'score', '--arch', BEST, '--proxy', 'snipp'])
    expect(unknown.status).not.toBe(0)
    expect(unknown.stderr).toMatch(/NOT_REGISTERED.*'snipp'.*'snip'/)
    expect(unknown.stderr).not.toMatch(/\n\s+at /)
    const table = nas(cwd, ['proxies', 'score', '--space', 'nb101', '--source', 'table', '--arch', 'x'])
    expect(table.status).not.toBe(0)
    const dataset = nas(cwd, ['proxies', 'correlate', '--dataset', 'mnist', '--source', 'table'])
    expect(dataset.stderr).toMatch(/nas: error \[/)
  })
})
