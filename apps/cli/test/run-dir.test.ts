import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, nasAsync, tempDir } from './helpers.js'

beforeAll(() => assertBuilt())

const SLOW = [
  'search',
  '--strategy',
  'random',
  '--objective',
  'valid_acc:max',
  '--budget',
  '2000000',
  '--cache',
  'off',
  '--seed',
  '1',
]

/** Starts a long search and waits until it holds the journal's lock and has written to it. */
async function startLong(cwd: string, args: readonly string[]) {
  const child = nasAsync(cwd, args)
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)))
  const out = args[args.indexOf('--out') + 1]!
  const journal = join(cwd, out, 'trials.jsonl')
  const holds = () => {
    try {
      return (JSON.parse(readFileSync(`${journal}.lock`, 'utf8')) as { pid: number }).pid === child.pid
    } catch {
      return false
    }
  }
  const size = () => (existsSync(journal) ? statSync(journal).size : 0)
  const start = size()
  for (let i = 0; i < 3000 && !(holds() && size() > start + 20_000); i++) await sleep(10)
  return { child, exited, journal }
}

const ids = (journal: string) =>
  readFileSync(journal, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; trial?: number })
    .filter((r) => r.type === 'tell')
    .map((r) => r.trial!)

describe('one run directory, one writer', () => {
  it('refuses a second search on a running --out (new + new, new + resume, resume + resume); the journal stays resumable', async () => {
    const cwd = tempDir()
    const first = await startLong(cwd, [...SLOW, '--out', 'r'])
    const pid = first.child.pid
    const second = nas(cwd, [...SLOW, '--seed', '2', '--out', 'r'])
    expect(second.status).not.toBe(0)
    expect(second.stderr).toMatch(
      new RegExp(`nas: error \\[JOURNAL\\]: journal .*trials.jsonl is in use by process ${pid} on`),
    )
    const resumeWhileLive = nas(cwd, ['search', '--out', 'r', '--resume'])
    expect(resumeWhileLive.status).not.toBe(0)
    expect(resumeWhileLive.stderr).toMatch(new RegExp(`in use by process ${pid}`))
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(130)
    // resume + resume
    const resumed = await startLong(cwd, ['search', '--out', 'r', '--resume'])
    const again = nas(cwd, ['search', '--out', 'r', '--resume'])
    expect(again.stderr).toMatch(new RegExp(`in use by process ${resumed.child.pid}`))
    resumed.child.kill('SIGINT')
    expect(await resumed.exited).toBe(130)
    // the journal is intact: every trial once, and it still resumes (with a smaller budget that is not below the trials done)
    const told = ids(first.journal)
    expect(new Set(told).size).toBe(told.length)
    const end = nas(cwd, [
      'search',
      '--out',
      'r',
      '--resume',
      '--budget',
      String(told.length + 100),
      '--json',
    ])
    expect(end.status, end.stderr).toBe(0)
    expect((end.json() as { trials: number }).trials).toBe(told.length + 100)
  })
})

describe('resume keeps the run as it was made', () => {
  const cwd = tempDir()
  beforeAll(() => {
    const made = nas(cwd, [
      'search',
      '--strategy',
      'rea',
      '--objective',
      'valid_acc:max',
      '--budget',
      '100',
      '--out',
      'r',
    ])
    if (made.status !== 0) throw new Error(`the run to resume failed: ${made.stderr}`)
  })
  const cases: [string, string[], RegExp][] = [
    ['objective', ['--objective', 'test_acc:max'], /made with --objective valid_acc:max, not test_acc:max/],
    ['constraint', ['--constraint', 'params<=1'], /made with --constraint \(none\), not params<=1/],
    ['dataset', ['--dataset', 'cifar100'], /made with --dataset cifar10, not cifar100/],
    ['seed', ['--seed', '4'], /made with --seed 0, not 4/],
    ['strategy', ['--strategy', 'ls'], /made with --strategy rea, not ls/],
    ['cache', ['--cache', 'off'], /made with --cache functional, not off/],
    ['concurrency', ['--concurrency', '3'], /made with --concurrency 1, not 3/],
    [
      'budget below the trials done',
      ['--budget', '50'],
      /BUDGET_INVALID.*budget trials 50 is below the 100 trials done/,
    ],
  ]
  for (const [name, flags, pattern] of cases) {
    it(`refuses a changed ${name}`, () => {
      const r = nas(cwd, ['search', '--out', 'r', '--resume', ...flags])
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(pattern)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }
  it('refuses a changed strategy config', () => {
    writeFileSync(join(cwd, 'cfg.json'), '{"populationSize": 12}')
    const r = nas(cwd, ['search', '--out', 'r', '--resume', '--config', 'cfg.json'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/made with strategy config .*"populationSize":30.*not .*"populationSize":12/)
  })
  it('a raised budget is journaled and runs on', () => {
    const r = nas(cwd, ['search', '--out', 'r', '--resume', '--budget', '150', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect((r.json() as { trials: number; budget: number }).trials).toBe(150)
    const records = readFileSync(join(cwd, 'r', 'trials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string })
    expect(records.filter((x) => x.type === 'budget')).toHaveLength(1)
    // and the report rebuilt from the journal says the same
    expect(nas(cwd, ['report', 'r', '--json']).json()).toMatchObject({ trials: 150, budget: 150 })
  })
})

describe('a journal is checked, not trusted', () => {
  const run = () => {
    const cwd = tempDir()
    expect(
      nas(cwd, [
        'search',
        '--strategy',
        'random',
        '--objective',
        'valid_acc:max',
        '--budget',
        '20',
        '--out',
        'r',
      ]).status,
    ).toBe(0)
    const path = join(cwd, 'r', 'trials.jsonl')
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    return { cwd, path, lines }
  }
  const write = (path: string, lines: Record<string, unknown>[]) =>
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n')

  it('an edited architecture (hash kept) is an error naming the line', () => {
    const { cwd, path, lines } = run()
    const i = lines.findIndex((l) => l['type'] === 'ask')
    const j = lines.findIndex((l, k) => k > i && l['type'] === 'ask' && l['hash'] !== lines[i]!['hash'])
    lines[i]!['arch'] = lines[j]!['arch']
    write(path, lines)
    for (const args of [
      ['search', '--out', 'r', '--resume', '--budget', '30'],
      ['report', 'r'],
    ]) {
      const r = nas(cwd, args)
      expect(r.status).toBe(1)
      expect(r.stderr).toMatch(
        new RegExp(
          `nas: error \\[JOURNAL\\]: journal .*trials.jsonl line ${i + 1}: trial 0's hash .* does not match its architecture`,
        ),
      )
    }
  })

  it('a non-numeric metric is an error naming the line, not an internal error', () => {
    const { cwd, path, lines } = run()
    const i = lines.findIndex((l) => l['type'] === 'tell')
    ;(lines[i]!['outcome'] as { metrics: Record<string, unknown> }).metrics['valid_acc'] = 'ninety'
    write(path, lines)
    const r = nas(cwd, ['report', 'r'])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`line ${i + 1}: tell record field 'outcome.metrics.valid_acc'`))
    expect(r.stderr).not.toMatch(/internal error/)
  })

  it('a torn last line (a crash mid-write) is repaired on resume', () => {
    const { cwd, path } = run()
    appendFileSync(path, '{"v":2,"type":"ask","tri')
    const r = nas(cwd, ['search', '--out', 'r', '--resume', '--budget', '25', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect((r.json() as { trials: number }).trials).toBe(25)
    expect(readFileSync(path, 'utf8')).not.toContain('"tri\n')
  })
})

describe('--out that cannot be a run directory: one clear error before anything is written', () => {
  const cases: [string, (cwd: string) => string, RegExp][] = [
    ['an empty path', () => '', /--out needs a directory path, got ''/],
    [
      'a file',
      (cwd) => (writeFileSync(join(cwd, 'f'), 'x'), 'f'),
      /--out .*\/f exists and is not a directory/,
    ],
    ['below a file', (cwd) => (writeFileSync(join(cwd, 'g'), 'x'), 'g/run'), /g is not a directory/],
    ['in /proc', () => '/proc/nasjs-run', /cannot create the run directory \/proc\/nasjs-run/],
  ]
  for (const [name, out, pattern] of cases) {
    it(name, () => {
      const cwd = tempDir()
      const dir = out(cwd)
      const before = readdirSync(cwd).sort()
      const t0 = Date.now()
      const r = nas(cwd, ['search', '--budget', '10', '--out', dir])
      expect(Date.now() - t0).toBeLessThan(30_000)
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(pattern)
      expect(r.stderr).not.toMatch(/internal error/)
      expect(readdirSync(cwd).sort()).toEqual(before)
    })
  }
  it('a failed start (a duplicate objective, missing data) leaves nothing behind', () => {
    const cwd = tempDir()
    const dup = nas(cwd, [
      'search',
      '--objective',
      'valid_acc:max',
      '--objective',
      'valid_acc:min',
      '--out',
      'a/b',
    ])
    expect(dup.stderr).toMatch(/objective 'valid_acc' is given twice/)
    const empty = join(cwd, 'empty-data')
    mkdirSync(empty)
    const noData = nas(cwd, ['search', '--out', 'a/b'], { NASJS_DATA_DIR: empty })
    expect(noData.status).toBe(1)
    expect(noData.stderr).toMatch(/DATA_MISSING.*empty-data/)
    expect(readdirSync(cwd)).toEqual(['empty-data'])
  })
})

describe('objectives and architectures as users type them', () => {
  it('a bare objective needs its direction', () => {
    const r = nas(tempDir(), ['search', '--objective', 'latency.pixel3'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(
      /objective 'latency.pixel3' needs a direction: latency.pixel3:max or latency.pixel3:min/,
    )
  })
  it('the example `nas spaces show` prints is accepted by `nas arch`', () => {
    const cwd = tempDir()
    for (const id of [
      'ofa-mbv3',
      'fbnet',
      'darts',
      'nb101',
      'transformer',
      'vit',
      'gnn',
      'quant-policy',
      'nb201',
    ]) {
      const shown = nas(cwd, ['spaces', 'show', id])
      expect(shown.status, shown.stderr).toBe(0)
      const lines = shown.stdout.split('\n')
      const example = lines[lines.findIndex((l) => l.startsWith('example')) + 1]!.trim()
      const hash = lines
        .find((l) => l.trim().startsWith('hash '))!
        .trim()
        .slice(5)
      const r = nas(cwd, ['arch', id, example])
      expect(r.status, `${id}: ${r.stderr}`).toBe(0)
      expect(r.stdout).toContain(hash)
    }
  })
})
