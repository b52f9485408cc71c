import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, nasKilledAt, tempDir } from './helpers.js'

beforeAll(() => assertBuilt())

const TRAIN = ['supernet', 'train', '--data', 'digits', '--epochs', '2', '--seed', '1']
const digest = (dir: string) =>
  createHash('sha256')
    .update(readFileSync(join(dir, 'supernet.bin')))
    .digest('hex')

describe('nas supernet', () => {
  it('train killed with SIGKILL and run again ends with the weights of an uninterrupted run', async () => {
    const cwd = tempDir()
    const straight = nas(cwd, [...TRAIN, '--out', 'straight', '--json'])
    expect(straight.status, straight.stderr).toBe(0)
    const r = straight.json() as { steps: number; largest: { acc: number }; smallest: { acc: number } }
    expect(r.steps).toBeGreaterThan(20)
    expect(r.largest.acc).toBeGreaterThan(0)

    // the same run, killed once its first checkpoint (an epoch) is written
    const header = join(cwd, 'killed', 'supernet.json')
    await nasKilledAt(cwd, [...TRAIN, '--out', 'killed'], header)
    const stopped = JSON.parse(readFileSync(header, 'utf8')) as { step: number }
    expect(stopped.step).toBeLessThan(r.steps)
    const again = nas(cwd, [...TRAIN, '--out', 'killed'])
    expect(again.status, again.stderr).toBe(0)
    expect(again.stderr).toContain(`continuing at step ${stopped.step}`)
    expect(digest(join(cwd, 'killed'))).toBe(digest(join(cwd, 'straight')))

    // a finished supernet is not trained over
    const twice = nas(cwd, [...TRAIN, '--out', 'straight'])
    expect(twice.status).not.toBe(0)
    expect(twice.stderr).toContain('already holds a trained supernet')

    // search its subnets, resume the search, export one
    const search = nas(cwd, [
      'supernet',
      'search',
      '--supernet',
      'straight',
      '--data',
      'digits',
      '--budget',
      '12',
      '--valid-size',
      '200',
      '--out',
      'run',
      '--json',
    ])
    expect(search.status, search.stderr).toBe(0)
    const summary = search.json() as { trials: number; front: unknown[] }
    expect(summary.trials).toBe(12)
    expect(summary.front.length).toBeGreaterThan(0)
    const more = nas(cwd, ['supernet', 'search', '--out', 'run', '--resume', '--budget', '16', '--json'])
    expect(more.status, more.stderr).toBe(0)
    expect((more.json() as { trials: number }).trials).toBe(16)
    // worker threads, each with its own copy of the supernet: the same subnets score the same
    const threads = nas(cwd, [
      'supernet',
      'search',
      '--supernet',
      'straight',
      '--data',
      'digits',
      '--budget',
      '12',
      '--valid-size',
      '200',
      '--concurrency',
      '2',
      '--strategy',
      'random',
      '--out',
      'threads',
    ])
    const single = nas(cwd, [
      'supernet',
      'search',
      '--supernet',
      'straight',
      '--data',
      'digits',
      '--budget',
      '12',
      '--valid-size',
      '200',
      '--strategy',
      'random',
      '--out',
      'single',
    ])
    expect(threads.status, threads.stderr).toBe(0)
    expect(threads.stderr).toContain('2 worker threads')
    const accs = (dir: string) => {
      const lines = readFileSync(join(cwd, dir, 'trials.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(
          (l) =>
            JSON.parse(l) as {
              type: string
              trial: number
              arch?: unknown
              outcome?: { metrics?: { acc: number } }
            },
        )
      const arch = new Map(
        lines.filter((l) => l.type === 'ask').map((l) => [l.trial, JSON.stringify(l.arch)]),
      )
      return lines
        .filter((l) => l.type === 'tell' && l.outcome?.metrics !== undefined)
        .map((l) => `${arch.get(l.trial)} ${l.outcome!.metrics!.acc}`)
        .sort()
    }
    expect(single.status, single.stderr).toBe(0)
    expect(accs('threads')).toEqual(accs('single'))
    expect(accs('single').length).toBe(12)
    const exported = nas(cwd, [
      'supernet',
      'export',
      '--supernet',
      'straight',
      '--arch',
      'largest',
      '--out',
      'model',
      '--json',
    ])
    expect(exported.status, exported.stderr).toBe(0)
    expect(existsSync(join(cwd, 'model', 'model.json'))).toBe(true)
    expect(existsSync(join(cwd, 'model', 'weights.bin'))).toBe(true)

    // subnets and quantization policies together (SimQ-NAS); uniform int8 as the reference front
    const quant = (out: string, formats: string, extra: string[] = []) =>
      nas(cwd, [
        'supernet',
        'search',
        '--supernet',
        'straight',
        '--data',
        'digits',
        '--quant',
        formats,
        '--strategy',
        'linas',
        '--budget',
        '6',
        '--valid-size',
        '100',
        '--calibration',
        '100',
        '--out',
        out,
        '--json',
        ...extra,
      ])
    const mixed = quant('mixed', 'int4,int8')
    expect(mixed.status, mixed.stderr).toBe(0)
    const ms = mixed.json() as {
      trials: number
      space: string
      objectives: string[]
      front: { arch: string; metrics: Record<string, number> }[]
    }
    expect(ms.trials).toBe(6)
    expect(ms.space).toMatch(/^ofa-mbv3@.*\*quant-policy$/)
    expect(ms.objectives).toEqual(['acc:max', 'bytes:min'])
    for (const f of ms.front) {
      expect(f.arch).toMatch(/ \| (int[48]:int[48] ){19}int[48]:int[48]$/)
      expect(Object.keys(f.metrics)).toEqual(
        expect.arrayContaining(['acc', 'float_acc', 'bytes', 'bitops', 'peak_act_bytes']),
      )
    }
    const more8 = nas(cwd, ['supernet', 'search', '--out', 'mixed', '--resume', '--budget', '8', '--json'])
    expect(more8.status, more8.stderr).toBe(0)
    expect((more8.json() as { trials: number }).trials).toBe(8)
    const int8 = nas(cwd, [
      'search',
      '--evaluator',
      'supernet',
      '--supernet',
      'straight',
      '--space',
      'ofa-mbv3*quant-policy',
      '--quant',
      'int8',
      '--data',
      'digits',
      '--budget',
      '4',
      '--valid-size',
      '100',
      '--calibration',
      '100',
      '--out',
      'int8',
      '--json',
    ])
    expect(int8.status, int8.stderr).toBe(0)
    const i8 = int8.json() as { front: { arch: string }[] }
    expect(i8.front.every((f) => / \| (int8:int8 ){19}int8:int8$/.test(f.arch))).toBe(true)
    // resumed with the same command line, the family alias of the space included
    const int8More = nas(cwd, [
      'search',
      '--evaluator',
      'supernet',
      '--space',
      'ofa-mbv3*quant-policy',
      '--out',
      'int8',
      '--resume',
      '--budget',
      '5',
      '--json',
    ])
    expect(int8More.status, int8More.stderr).toBe(0)
    expect((int8More.json() as { trials: number }).trials).toBe(5)
    const report = nas(cwd, ['report', 'mixed', '--reference', 'int8', '--json'])
    expect(report.status, report.stderr).toBe(0)
    const html = readFileSync(join(cwd, 'mixed', 'report.html'), 'utf8')
    expect(html).toContain('acc (max) vs bytes (min)')
    expect(html).toContain('>int8<')
    const wrongRef = nas(cwd, ['report', 'mixed', '--reference', 'run'])
    expect(wrongRef.status).not.toBe(0)
    expect(wrongRef.stderr).toContain('cannot share a plot')
  }, 400_000)

  it('measures the latency of each subnet on its standalone model when an objective asks for it', () => {
    const cwd = tempDir()
    const trained = nas(cwd, [
      'supernet',
      'train',
      '--data',
      'digits',
      '--epochs',
      '0.2',
      '--out',
      'sn',
      '--json',
    ])
    expect(trained.status, trained.stderr).toBe(0)
    const r = nas(
      cwd,
      [
        'supernet',
        'search',
        '--supernet',
        'sn',
        '--data',
        'digits',
        '--valid-size',
        '100',
        '--budget',
        '2',
        '--strategy',
        'random',
        '--objective',
        'acc:max',
        '--objective',
        'latency.tfjs-wasm:min',
        '--out',
        'run',
        '--json',
      ],
      { NASJS_QUIET_RETRIES: '0' },
    )
    expect(r.status, r.stderr).toBe(0)
    const summary = r.json() as { front: { metrics: Record<string, number> }[] }
    expect(summary.front.length).toBeGreaterThan(0)
    for (const p of summary.front) expect(p.metrics['latency.tfjs-wasm']).toBeGreaterThan(0)
  }, 120_000)

  it('trains an FBNet supernet with the sandwich rule, searches its subnets and exports one', () => {
    const cwd = tempDir()
    const fb = ['supernet', 'train', '--space', 'fbnet', '--data', 'digits', '--epochs', '1', '--seed', '2']
    const trained = nas(cwd, [...fb, '--out', 'fb', '--json'])
    expect(trained.status, trained.stderr).toBe(0)
    const r = trained.json() as {
      space: string
      schedule: string
      largest: { acc: number; flops: number }
      smallest: { acc: number; flops: number }
    }
    expect(r.schedule).toBe('bignas')
    // the supernet's own network names its space: no table of FBNet's ImageNet network fits it
    expect(r.space).toMatch(/^fbnet@imagenet:w8,8,12,16,32,56,92,176,256:r8$/)
    expect(r.largest.flops).toBeGreaterThan(10 * r.smallest.flops)
    const search = nas(cwd, [
      'supernet',
      'search',
      '--supernet',
      'fb',
      '--data',
      'digits',
      '--budget',
      '8',
      '--valid-size',
      '100',
      '--out',
      'run',
      '--json',
    ])
    expect(search.status, search.stderr).toBe(0)
    const summary = search.json() as { trials: number; space: string; front: { arch: string }[] }
    expect(summary.trials).toBe(8)
    expect(summary.front[0]!.arch.split(' ')).toHaveLength(22)
    const exported = nas(cwd, [
      'supernet',
      'export',
      '--supernet',
      'fb',
      '--arch',
      'smallest',
      '--out',
      'm',
      '--json',
    ])
    expect(exported.status, exported.stderr).toBe(0)
    expect((exported.json() as { arch: string }).arch).toBe(new Array(22).fill('skip').join(' '))
    expect(existsSync(join(cwd, 'm', 'model.json'))).toBe(true)
    // FBNet's supernet trains with the sandwich rule at one resolution, without quantization policies
    const progressive = nas(cwd, [...fb, '--schedule', 'progressive', '--out', 'p'])
    expect(progressive.stderr).toContain("trains with 'bignas'")
    const resolutions = nas(cwd, [...fb, '--resolutions', '8,12', '--out', 'p'])
    expect(resolutions.stderr).toContain('one input side')
    const quant = nas(cwd, [
      'supernet',
      'search',
      '--supernet',
      'fb',
      '--data',
      'digits',
      '--quant',
      'int8',
      '--budget',
      '2',
    ])
    expect(quant.stderr).toContain('this supernet is an FBNet one')
  }, 180_000)

  it('names a bad flag or a missing supernet in one clear error', () => {
    const cwd = tempDir()
    const missing = nas(cwd, ['supernet', 'search', '--supernet', 'nowhere', '--budget', '2'])
    expect(missing.status).not.toBe(0)
    expect(missing.stderr).toContain('[DATA_MISSING]')
    expect(missing.stderr).not.toContain('    at ')
    const stray = nas(cwd, ['search', '--evaluator', 'supernet', '--supernet', 'x', '--epochs', '3'])
    expect(stray.stderr).toContain('--epochs does not apply to a supernet search')
    const noDir = nas(cwd, ['search', '--evaluator', 'supernet'])
    expect(noDir.stderr).toContain('needs --supernet <dir>')
    const badFormat = nas(cwd, ['search', '--evaluator', 'supernet', '--supernet', 'x', '--quant', 'int3'])
    expect(badFormat.stderr).toContain("--quant: unknown format 'int3'")
    const quantOnTable = nas(cwd, ['search', '--space', 'nb201', '--quant', 'int8'])
    expect(quantOnTable.stderr).toContain('--quant is a supernet option')
    const edgesAlone = nas(cwd, [
      'search',
      '--evaluator',
      'supernet',
      '--supernet',
      'x',
      '--quant-edges',
      'int8:int8',
    ])
    expect(edgesAlone.stderr).toContain('add --quant <formats>')
    const badSchedule = nas(cwd, ['supernet', 'train', '--schedule', 'ofa', '--out', 'x'])
    expect(badSchedule.status).not.toBe(0)
    expect(badSchedule.stderr).toContain('progressive')
  })
})
