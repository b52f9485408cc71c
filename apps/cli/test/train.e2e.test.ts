import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, nasAsync, tempDir } from './helpers.js'

// Tiny settings: the 8x8 digits, a 3-channel network, one epoch on 200 images.
const TINY = [
  '--evaluator',
  'train',
  '--data',
  'digits',
  '--train-size',
  '200',
  '--valid-size',
  '100',
  '--test-size',
  '100',
  '--width',
  '3',
  '--epochs',
  '1',
]

interface Summary {
  ok: boolean
  trials: number
  complete: boolean
  best?: { arch: string; metrics: Record<string, number> }
  front: { arch: string; metrics: Record<string, number> }[]
}

const outcomes = (journal: string) => {
  const lines = readFileSync(journal, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  const asks = new Map(lines.filter((r) => r['type'] === 'ask').map((r) => [r['trial'], r['hash']]))
  return new Map(
    lines
      .filter((r) => r['type'] === 'tell')
      .map((r) => {
        const m = (r['outcome'] as { metrics: Record<string, number> }).metrics
        return [asks.get(r['trial']) as string, [m['valid_acc'], m['test_acc'], m['params']]] as const
      }),
  )
}

beforeAll(() => assertBuilt())

describe('nas search --evaluator train', () => {
  it('trains every candidate: the journal records the setup, the summary the trained metrics', () => {
    const cwd = tempDir()
    const r = nas(cwd, ['search', ...TINY, '--strategy', 'random', '--budget', '3', '--out', 'r', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as Summary
    expect(s).toMatchObject({ ok: true, trials: 3, complete: true })
    for (const f of s.front) {
      expect(Object.keys(f.metrics)).toEqual(
        expect.arrayContaining(['valid_acc', 'test_acc', 'params', 'flops', 'train_seconds']),
      )
      expect(f.metrics['valid_acc']).toBeGreaterThanOrEqual(0)
    }
    const header = JSON.parse(readFileSync(join(cwd, 'r/trials.jsonl'), 'utf8').split('\n')[0]!) as {
      meta: Record<string, unknown>
    }
    expect(header.meta).toMatchObject({
      command: 'search',
      dataset: 'digits',
      training: { space: 'nb201', data: 'digits', split: { train: 200 }, network: { channels: 3 } },
    })
    // NDJSON progress carries the per-epoch reports of a training search
    expect(r.stderr).toContain('"trial-report"')
    expect(existsSync(join(cwd, 'r/report.html'))).toBe(true)
  })

  it('2 worker threads give the same result for every architecture as 1 (seeded training)', () => {
    const cwd = tempDir()
    const args = ['search', ...TINY, '--strategy', 'random', '--budget', '4', '--json']
    expect(nas(cwd, [...args, '--out', 'one']).status).toBe(0)
    const two = nas(cwd, [...args, '--out', 'two', '--concurrency', '2'])
    expect(two.status, two.stderr).toBe(0)
    const a = outcomes(join(cwd, 'one/trials.jsonl'))
    const b = outcomes(join(cwd, 'two/trials.jsonl'))
    expect(a.size).toBe(4)
    expect(b).toEqual(a)
  })

  it('shows epochs, images/s and an ETA; resumes; successive halving trains at 1 and --epochs', async () => {
    const cwd = tempDir()
    const child = nasAsync(cwd, [
      'search',
      ...TINY,
      '--epochs',
      '3',
      '--strategy',
      'sh',
      '--budget',
      '9',
      '--out',
      'sh',
    ])
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    // stop it once two trials are in the journal; the rest is resumed
    for (let i = 0; i < 600; i++) {
      const j = join(cwd, 'sh/trials.jsonl')
      if (existsSync(j) && (readFileSync(j, 'utf8').match(/"type":"tell"/g)?.length ?? 0) >= 2) break
      await sleep(100)
    }
    const closed = new Promise((r) => child.on('close', r))
    child.kill('SIGKILL')
    await closed
    expect(err).toMatch(/done \d+\/9 · (trial \d+ epoch \d\/\d · )?\d+ img\/s · ETA \d+/)
    const r = nas(cwd, ['search', '--out', 'sh', '--resume', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({ ok: true, trials: 9, complete: true })
    // the default objective follows the strategy: sh optimises one
    expect((r.json() as { objectives: string[] }).objectives).toEqual(['valid_acc:max'])
    const fidelities = readFileSync(join(cwd, 'sh/trials.jsonl'), 'utf8').match(/"fidelity":\d+/g) ?? []
    expect(new Set(fidelities)).toEqual(new Set(['"fidelity":1', '"fidelity":3']))
    // every trial told once: the trials killed in flight were asked again, none twice
    const tells = readFileSync(join(cwd, 'sh/trials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; trial?: number })
      .filter((r) => r.type === 'tell')
      .map((r) => r.trial)
    expect(new Set(tells).size).toBe(tells.length)
    // the promoted trial continued from the state its rung-1 trial left in the run directory
    expect(readFileSync(join(cwd, 'sh/trials.jsonl'), 'utf8')).toMatch(/"epochs_resumed":1/)
    expect(existsSync(join(cwd, 'sh/checkpoints'))).toBe(true)
  })
})

describe('nas train', () => {
  it('trains one network, prints its accuracy and saves model.json + weights + nasjs.json', () => {
    const cwd = tempDir()
    const arch =
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    const args = ['train', '--arch', arch, '--data', 'digits', '--train-size', '300', '--test-size', '100']
    const r = nas(cwd, [...args, '--width', '4', '--epochs', '6', '--save', 'm', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const out = r.json() as { ok: boolean; metrics: Record<string, number>; saved: string[] }
    expect(out.ok).toBe(true)
    expect(out.metrics['test_acc']).toBeGreaterThan(20) // chance is 10 %
    expect(out.saved.map((f) => f.split('/').pop())).toEqual(['model.json', 'weights.bin', 'nasjs.json'])
    const info = JSON.parse(readFileSync(join(cwd, 'm/nasjs.json'), 'utf8')) as Record<string, unknown>
    expect(info).toMatchObject({ space: 'nb201', arch, metrics: { test_acc: out.metrics['test_acc'] } })
    expect(readFileSync(join(cwd, 'm/model.json'), 'utf8')).not.toMatch(/"Nas[A-Za-z]+"/)
    const human = nas(cwd, [...args, '--epochs', '1'])
    expect(human.status).toBe(0)
    expect(human.stderr).toMatch(/epoch 1\/1 · step \d+\/\d+ · loss [\d.]+ · \d+ img\/s · ETA/)
    expect(human.stdout).toMatch(/test_acc\s+\d+\.\d\d/)
  })
})

describe('nas train on the other builders', () => {
  const V2 =
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
  const NB101 =
    '{"matrix":[[0,1,1,0,0,1,0],[0,0,0,1,0,0,0],[0,0,0,0,0,1,0],[0,0,0,0,1,0,0],[0,0,0,0,0,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]],"ops":["input","maxpool3x3","conv3x3-bn-relu","conv1x1-bn-relu","conv3x3-bn-relu","maxpool3x3","output"]}'
  for (const [space, arch] of [
    ['darts', V2],
    ['nb101', NB101],
  ] as const) {
    it(`${space}: trains on the digits and saves a model without nasjs layers`, () => {
      const cwd = tempDir()
      const r = nas(cwd, [
        'train',
        '--space',
        space,
        '--arch',
        arch,
        '--data',
        'digits',
        '--width',
        space === 'nb101' ? '8' : '4', // NB101's stem needs 5 channels or more
        '--epochs',
        '1',
        '--train-size',
        '300',
        '--save',
        'm',
        '--json',
      ])
      expect(r.status, r.stderr).toBe(0)
      expect((r.json() as { metrics: Record<string, number> }).metrics['params']).toBeGreaterThan(1000)
      expect(readFileSync(join(cwd, 'm/model.json'), 'utf8')).not.toMatch(/"Nas[A-Za-z]+"/)
    })
  }
})

describe('nas train --checkpoint', () => {
  it('a killed training continues from its last epoch and ends as an uninterrupted one', async () => {
    const cwd = tempDir()
    const arch = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|'
    const args = ['train', '--arch', arch, '--data', 'digits', '--width', '4', '--epochs', '8', '--json']
    const straight = nas(cwd, [...args, '--checkpoint', 'a.state'])
    expect(straight.status, straight.stderr).toBe(0)
    const child = nasAsync(cwd, [...args, '--checkpoint', 'b.state'])
    const closed = new Promise((r) => child.on('close', r))
    for (let i = 0; i < 3000 && !existsSync(join(cwd, 'b.state')); i++) await sleep(10)
    child.kill('SIGKILL')
    await closed
    const resumed = nas(cwd, [...args, '--checkpoint', 'b.state'])
    expect(resumed.status, resumed.stderr).toBe(0)
    const m = (r: ReturnType<typeof nas>) => (r.json() as { metrics: Record<string, number> }).metrics
    expect([m(resumed)['valid_acc'], m(resumed)['test_acc']]).toEqual([
      m(straight)['valid_acc'],
      m(straight)['test_acc'],
    ])
  })
})

describe('training searches: bad input is one clear error', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'a training flag without --evaluator train',
      ['search', '--epochs', '3'],
      /--epochs is a training option/,
    ],
    [
      'a space without a builder',
      ['search', ...TINY, '--space', 'gnn'],
      /no network builder for space 'gnn'/,
    ],
    [
      'unknown data',
      ['search', '--evaluator', 'train', '--data', 'cifar10'],
      /--data 'cifar10'.*fashion-mnist, digits/,
    ],
    [
      '--dataset with training',
      ['search', '--evaluator', 'train', '--dataset', 'cifar10'],
      /--dataset picks a benchmark's dataset/,
    ],
    [
      'a metric training does not measure',
      ['search', ...TINY, '--objective', 'latency.pixel3:min'],
      /metric 'latency.pixel3' is not measured by training/,
    ],
    ['a bad learning rate', ['search', ...TINY, '--lr', '-1'], /--lr must be a number > 0, got '-1'/],
    ['train: bad architecture', ['train', '--arch', '|conv~0|'], /ARCH_INVALID/],
    [
      'train: impossible input',
      [
        'train',
        '--arch',
        '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
        '--data',
        'digits',
        '--width',
        '0',
      ],
      /CONFIG_INVALID/,
    ],
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
})
