import { readFileSync } from 'node:fs'
import { join } from 'node:path'
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

describe('nas search --evaluator proxy', () => {
  // the 8x8 digits, a 4-channel network, a minibatch of 16
  const TINY = ['--evaluator', 'proxy', '--data', 'digits', '--width', '4', '--batch-size', '16']
  interface Summary {
    ok: boolean
    trials: number
    objectives: string[]
    best: { arch: string; metrics: Record<string, number> }
    front: { arch: string; metrics: Record<string, number> }[]
  }
  const header = (cwd: string, dir: string) =>
    JSON.parse(readFileSync(join(cwd, dir, 'trials.jsonl'), 'utf8').split('\n')[0]!) as {
      meta: Record<string, unknown>
    }
  const scores = (cwd: string, dir: string) =>
    readFileSync(join(cwd, dir, 'trials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; outcome?: { metrics?: Record<string, number> } })
      .filter((r) => r.type === 'tell' && r.outcome?.metrics !== undefined)
      .map((r) => r.outcome!.metrics!)

  it('scores every candidate with the proxies and their weighted sum; the header records the setup; same seed, same scores', () => {
    const cwd = tempDir()
    const args = [
      'search',
      ...TINY,
      '--proxy',
      'synflow,nwot',
      '--proxy-weights',
      'synflow=1,nwot=0.05',
      '--strategy',
      'rea',
      '--budget',
      '8',
      '--json',
    ]
    const r = nas(cwd, [...args, '--out', 'a'])
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as Summary
    expect(s).toMatchObject({ ok: true, trials: 8, objectives: ['zc_score:max'] })
    const m = s.best.metrics
    expect(Object.keys(m)).toEqual(
      expect.arrayContaining(['zc.synflow', 'zc.nwot', 'zc_score', 'params', 'flops']),
    )
    expect(m['zc_score']).toBeCloseTo(m['zc.synflow']! + 0.05 * m['zc.nwot']!, 6)
    expect(header(cwd, 'a').meta).toMatchObject({
      command: 'search',
      dataset: 'digits',
      proxy: {
        space: 'nb201',
        proxies: ['synflow', 'nwot'],
        weights: { synflow: 1, nwot: 0.05 },
        data: 'digits',
        batchSize: 16,
        network: { channels: 4 },
      },
    })
    expect(nas(cwd, [...args, '--out', 'b']).status).toBe(0)
    expect(scores(cwd, 'b')).toEqual(scores(cwd, 'a'))
    // resume with a larger budget keeps the setup and the first eight results
    const more = nas(cwd, ['search', '--out', 'a', '--resume', '--budget', '10', '--json'])
    expect(more.status, more.stderr).toBe(0)
    expect((more.json() as Summary).trials).toBe(10)
    expect(scores(cwd, 'a').slice(0, 8)).toEqual(scores(cwd, 'b'))
    // the report is rebuilt from the journal with the proxy metrics
    const report = nas(cwd, ['report', 'a', '--json'])
    expect(report.status, report.stderr).toBe(0)
    expect((report.json() as Summary).best).toEqual((more.json() as Summary).best)
  })

  it('a multi-objective strategy searches the first proxy against params by default', () => {
    const cwd = tempDir()
    const r = nas(cwd, ['search', ...TINY, '--strategy', 'nsga2', '--budget', '6', '--out', 'r', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect((r.json() as Summary).objectives).toEqual(['zc.synflow:max', 'params:min'])
  })

  it.each([
    [['--proxy', 'synflow'], /--proxy is a proxy option; add --evaluator proxy/],
    [
      ['--evaluator', 'proxy', '--epochs', '2'],
      /--epochs is a training option; a proxy search trains nothing/,
    ],
    [['--evaluator', 'proxy', '--proxy', 'synflw'], /NOT_REGISTERED.*'synflw'/],
    [['--evaluator', 'proxy', '--proxy-weights', 'nwot=1'], /'nwot' is not one of --proxy \(synflow\)/],
    [['--evaluator', 'proxy', '--proxy-weights', 'synflow'], /is not proxy=weight/],
    [['--evaluator', 'proxy', '--strategy', 'sh'], /a proxy score has none/],
    [['--evaluator', 'proxy', '--objective', 'valid_acc:max'], /METRIC_MISSING.*zc\.synflow, params, flops/],
    [['--evaluator', 'proxy', '--data', 'nope'], /random \(Gaussian inputs/],
  ])('%j is refused with one NasError', (args, message) => {
    const cwd = tempDir()
    const r = nas(cwd, ['search', ...args, '--budget', '2', '--out', 'r'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/^nas: error \[[A-Z_]+\]/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
