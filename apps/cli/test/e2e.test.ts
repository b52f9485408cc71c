import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, nasAsync, tempDir } from './helpers.js'

interface Summary {
  ok: boolean
  trials: number
  front: { trial: number; arch: string; metrics: Record<string, number> }[]
  best?: { arch: string; metrics: Record<string, number> }
  quality?: { relativeHypervolume: number; coverage: number }
  complete: boolean
  files: Record<string, string>
}

const tellHashes = (journal: string) => {
  const lines = readFileSync(journal, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  const asks = new Map(lines.filter((r) => r['type'] === 'ask').map((r) => [r['trial'], r['hash']]))
  return lines
    .filter((r) => r['type'] === 'tell')
    .map((r) => [r['trial'], asks.get(r['trial']), JSON.stringify(r['outcome'])] as const)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
}

beforeAll(() => assertBuilt())

describe('nas search', () => {
  it('runs NSGA-II with the defaults, writes the run files and prints the front', () => {
    const cwd = tempDir()
    const r = nas(cwd, ['search', '--budget', '300', '--out', 'runs/a'])
    expect(r.stderr).toContain('search done')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('Pareto front')
    expect(r.stdout).toContain('report:')
    for (const f of ['trials.jsonl', 'summary.json', 'pareto.csv', 'report.html']) {
      expect(existsSync(join(cwd, 'runs/a', f)), f).toBe(true)
    }
    const html = readFileSync(join(cwd, 'runs/a/report.html'), 'utf8')
    expect(html).toContain('<svg')
    expect(html).toContain('found front')
    const csv = readFileSync(join(cwd, 'runs/a/pareto.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toContain('valid_acc')
    expect(csv.length).toBeGreaterThan(3)
  })

  it('--json prints the summary as the last line', () => {
    const cwd = tempDir()
    const r = nas(cwd, [
      'search',
      '--strategy',
      'rea',
      '--objective',
      'valid_acc:max',
      '--budget',
      '150',
      '--seed',
      '3',
      '--out',
      'r',
      '--json',
    ])
    expect(r.status).toBe(0)
    const s = r.json() as Summary
    expect(s.ok).toBe(true)
    expect(s.trials).toBe(150)
    expect(s.best?.metrics['valid_acc']).toBeGreaterThan(88)
    expect(s.best?.arch).toMatch(/^\|.*\|$/)
    // same seed, same result
    const again = nas(tempDir(), [
      'search',
      '--strategy',
      'rea',
      '--objective',
      'valid_acc:max',
      '--budget',
      '150',
      '--seed',
      '3',
      '--out',
      'r',
      '--json',
    ])
    expect((again.json() as Summary).best).toEqual(s.best)
  })

  it('checks a cheap constraint', () => {
    const cwd = tempDir()
    const r = nas(cwd, [
      'search',
      '--strategy',
      'random',
      '--objective',
      'valid_acc:max',
      '--constraint',
      'latency.pixel3<=5',
      '--budget',
      '200',
      '--out',
      'c',
      '--json',
    ])
    expect(r.status).toBe(0)
    const s = r.json() as Summary
    expect(s.best?.metrics['latency.pixel3']).toBeLessThanOrEqual(5)
  })

  it('resumes an interrupted search and ends with the same trials as an uninterrupted one', async () => {
    const cwd = tempDir()
    const args = [
      'search',
      '--strategy',
      'random',
      '--objective',
      'valid_acc:max',
      '--budget',
      '30000',
      '--seed',
      '5',
    ]
    const child = nasAsync(cwd, [...args, '--out', 'int'])
    const journal = join(cwd, 'int', 'trials.jsonl')
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)))
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    for (let i = 0; i < 1000 && !(existsSync(journal) && statSync(journal).size > 30_000); i++)
      await sleep(10)
    child.kill('SIGINT')
    const code = await exited
    expect(code).toBe(130)
    expect(stderr).toContain('--resume')
    const partial = tellHashes(journal).length
    expect(partial).toBeGreaterThan(0)
    expect(partial).toBeLessThan(30000)
    const resumed = nas(cwd, ['search', '--out', 'int', '--resume', '--json'])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect((resumed.json() as Summary).trials).toBe(30000)
    const straight = nas(cwd, [...args, '--out', 'straight'])
    expect(straight.status).toBe(0)
    expect(tellHashes(journal)).toEqual(tellHashes(join(cwd, 'straight', 'trials.jsonl')))
  })

  it('rebuilds the report from the journal', () => {
    const cwd = tempDir()
    expect(nas(cwd, ['search', '--budget', '200', '--out', 'x', '--json']).status).toBe(0)
    const before = JSON.parse(readFileSync(join(cwd, 'x/summary.json'), 'utf8')) as Summary
    const r = nas(cwd, ['report', 'x', '--json'])
    expect(r.status).toBe(0)
    expect(r.json()).toEqual(before)
  })
})

describe('nas compare', () => {
  it('prints the table and writes JSON, CSV and SVG; --json lists every strategy', () => {
    const cwd = tempDir()
    const r = nas(cwd, [
      'compare',
      '--strategies',
      'random,rea',
      '--seeds',
      '3',
      '--budget',
      '50',
      '--out',
      'cmp',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as {
      strategies: { name: string; mean: number; std: number; relativeImprovementOverRandom: number }[]
    }
    expect(s.strategies.map((x) => x.name)).toEqual(['random', 'rea'])
    expect(s.strategies[0]!.relativeImprovementOverRandom).toBe(0)
    for (const x of s.strategies) expect(x.mean).toBeGreaterThan(85)
    for (const f of ['compare.json', 'curves.csv', 'summary.csv', 'anytime.svg', 'report.html']) {
      expect(existsSync(join(cwd, 'cmp', f)), f).toBe(true)
    }
    const text = nas(cwd, [
      'compare',
      '--strategies',
      'random,ls',
      '--seeds',
      '2',
      '--budget',
      '30',
      '--out',
      'cmp2',
    ])
    expect(text.stdout).toContain('RI vs random search')
  })
})

describe('nas spaces, strategies, arch', () => {
  it('lists and shows spaces', () => {
    const cwd = tempDir()
    const list = nas(cwd, ['spaces', '--json']).json() as { spaces: { id: string }[] }
    expect(list.spaces.map((s) => s.id)).toContain('ofa-mbv3')
    const show = nas(cwd, ['spaces', 'show', 'nb201'])
    expect(show.status).toBe(0)
    expect(show.stdout).toContain('15,625')
  })

  it('lists strategies with config defaults', () => {
    const r = nas(tempDir(), ['strategies', '--json'])
    const s = r.json() as { strategies: { name: string; fields: { name: string; default?: unknown }[] }[] }
    const rea = s.strategies.find((x) => x.name === 'rea')
    expect(rea?.fields.some((f) => f.default !== undefined)).toBe(true)
  })

  it('parses an architecture and shows its benchmark metrics', () => {
    const arch =
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    const r = nas(tempDir(), ['arch', 'nb201', arch, '--json'])
    expect(r.status).toBe(0)
    const a = r.json() as { arch: string; index: number; metrics: Record<string, Record<string, number>> }
    expect(a.arch).toBe(arch)
    expect(a.metrics['cifar10']?.['test_acc']).toBeCloseTo(94.36, 1)
  })
})

describe('bad input: one clear message, non-zero exit, no stack trace', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown strategy', ['search', '--strategy', 'reaa'], /unknown strategy 'reaa'; expected .*'rea'/],
    ['unknown space', ['search', '--space', 'nb202'], /unknown search space 'nb202'; expected .*'nb201'/],
    [
      'unknown dataset',
      ['search', '--dataset', 'cifar11'],
      /dataset 'cifar11'; expected 'cifar10', 'cifar100' or 'imagenet16-120'/,
    ],
    ['unknown device', ['search', '--objective', 'latency.pixel9:min'], /latency.pixel9.*'latency.pixel3'/],
    [
      'malformed objective',
      ['search', '--objective', 'valid_acc:best'],
      /direction 'best'; expected 'max' or 'min'/,
    ],
    ['malformed constraint', ['search', '--constraint', 'latency.pixel3=<5'], /malformed constraint/],
    [
      'arch typo',
      [
        'arch',
        'nb201',
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_cov_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
      ],
      /unknown NB201 op 'nor_cov_3x3'[\s\S]*\^{11}/,
    ],
    [
      'missing data directory',
      ['search', '--data', '/nonexistent/nasjs-data'],
      /not found; tried \/nonexistent\/nasjs-data.*NASJS_DATA_DIR/,
    ],
    ['budget -1', ['search', '--budget', '-1'], /--budget must be an integer >= 1, got '-1'/],
    [
      'multi-fidelity strategy on the table',
      ['search', '--strategy', 'hyperband', '--objective', 'valid_acc:max'],
      /strategy 'hyperband' needs an evaluator with fidelities/,
    ],
    ['compare with a bad seeds count', ['compare', '--seeds', '0'], /--seeds must be a positive integer/],
  ]
  for (const [name, args, pattern] of cases) {
    it(name, () => {
      const r = nas(tempDir(), args)
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(pattern)
      expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/)
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^nas: error \[[A-Z_]+\]/)
    })
  }

  it('resume of a run from a different space', () => {
    const cwd = tempDir()
    expect(nas(cwd, ['search', '--budget', '50', '--out', 'r']).status).toBe(0)
    const r = nas(cwd, ['search', '--space', 'nb101', '--out', 'r', '--resume'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/SPACE_MISMATCH.*--space nb201, not nb101/)
  })

  it('prints a JSON error with --json', () => {
    const r = nas(tempDir(), ['search', '--strategy', 'nope', '--json'])
    expect(r.status).toBe(2)
    expect(r.json()).toMatchObject({ ok: false, error: { code: 'NOT_REGISTERED', value: 'nope' } })
  })
})
