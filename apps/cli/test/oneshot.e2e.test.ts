import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, nasKilledAt, tempDir } from './helpers.js'

beforeAll(() => assertBuilt())

const RUN = ['oneshot', '--data', 'digits', '--epochs', '2', '--channels', '2', '--seed', '1']

interface Summary {
  method: string
  arch: string
  steps: number
  history: number[][][]
  benchmark: Record<string, { test_acc: number }>
}

describe('nas oneshot', () => {
  it('searches the DARTS space: a genotype, its evaluation network, the alphas of 28 edges; refuses NB201-only methods', () => {
    const cwd = tempDir()
    const darts = [
      'oneshot',
      '--space',
      'darts',
      '--data',
      'digits',
      '--train-size',
      '64',
      '--valid-size',
      '64',
      '--epochs',
      '1',
      '--channels',
      '2',
      '--cells',
      '3',
      '--batch-size',
      '32',
    ]
    const r = nas(cwd, [...darts, '--method', 'gdas', '--out', 'd', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as Summary & { space: string; evaluation: { params: number; train: string } }
    expect(s.space).toBe('darts')
    expect(s.arch).toMatch(/^Genotype\(normal=\[\('/)
    expect(s.history[0]).toHaveLength(28)
    expect(s.evaluation.params).toBeGreaterThan(1e6)
    expect(s.evaluation.train).toContain('nas train --space darts --arch')
    const report = readFileSync(join(cwd, 'd', 'report.html'), 'utf8')
    expect(report).toContain('reduce 5&lt;-4')
    // the derived genotype parses and builds: nas arch reads it back
    const arch = nas(cwd, ['arch', 'darts', s.arch, '--json'])
    expect(arch.status, arch.stderr).toBe(0)
    for (const method of ['darts-pt', 'proxyless', 'few-shot']) {
      const bad = nas(cwd, [...darts, '--method', method, '--out', method])
      expect(bad.status).not.toBe(0)
      expect(bad.stderr).toContain('runs on the NB201 space')
    }
  }, 120_000)

  it('searches, reports the cell in the NB201 table and plots the alphas; killed and run again, ends with the same alphas', async () => {
    const cwd = tempDir()
    const straight = nas(cwd, [...RUN, '--method', 'darts', '--out', 'straight', '--json'])
    expect(straight.status, straight.stderr).toBe(0)
    const s = straight.json() as Summary
    expect(s.method).toBe('darts')
    expect(s.history).toHaveLength(2)
    expect(s.history[0]).toHaveLength(6)
    expect(s.benchmark['cifar10']!.test_acc).toBeGreaterThan(0)
    expect(JSON.parse(readFileSync(join(cwd, 'straight', 'summary.json'), 'utf8'))).toMatchObject({
      arch: s.arch,
    })
    // the cell of every epoch as the trials of a search run, which nas report reads as any other
    const run = JSON.parse(readFileSync(join(cwd, 'straight', 'run', 'summary.json'), 'utf8')) as {
      trials: number
      space: string
    }
    expect(run).toMatchObject({ trials: 2, space: 'nb201' })
    const rebuilt = nas(cwd, ['report', join('straight', 'run'), '--json'])
    expect(rebuilt.status, rebuilt.stderr).toBe(0)
    expect((rebuilt.json() as { trials: number }).trials).toBe(2)
    const report = readFileSync(join(cwd, 'straight', 'report.html'), 'utf8')
    expect(report.match(/<svg/g)).toHaveLength(6)
    for (const op of ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'])
      expect(report).toContain(op)

    // the same search, killed once its first checkpoint (an epoch) is written
    const header = join(cwd, 'killed', 'oneshot.json')
    await nasKilledAt(cwd, [...RUN, '--method', 'darts', '--out', 'killed'], header)
    const stopped = JSON.parse(readFileSync(header, 'utf8')) as { step: number }
    expect(stopped.step).toBeLessThan(s.steps)
    const again = nas(cwd, [...RUN, '--method', 'darts', '--out', 'killed', '--json'])
    expect(again.status, again.stderr).toBe(0)
    const a = again.json() as Summary
    expect(a.history).toEqual(s.history)
    expect(a.arch).toBe(s.arch)

    // a finished search is not run over
    const twice = nas(cwd, [...RUN, '--method', 'darts', '--out', 'straight'])
    expect(twice.status).not.toBe(0)
    expect(twice.stderr).toContain('already holds a finished one-shot search')
  })

  it('runs GDAS and DARTS with perturbation-based selection, and refuses a method it does not have', () => {
    const cwd = tempDir()
    const r = nas(cwd, [...RUN, '--method', 'gdas', '--out', 'g', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect((r.json() as Summary).method).toBe('gdas')
    const pt = nas(cwd, [...RUN, '--epochs', '1', '--method', 'darts-pt', '--out', 'pt', '--json'])
    expect(pt.status, pt.stderr).toBe(0)
    const p = pt.json() as Summary & {
      alphaArch: string
      perturbation: { edge: number; chosen: string; removed: number[] }[]
    }
    expect(p.perturbation.map((d) => d.edge).sort()).toEqual([0, 1, 2, 3, 4, 5])
    for (const d of p.perturbation) expect(p.arch).toContain(`${d.chosen}~`)
    expect(p.alphaArch).toMatch(/^\|/)
    const px = nas(cwd, [
      ...RUN,
      '--epochs',
      '1',
      '--method',
      'proxyless',
      '--latency-weight',
      '1',
      '--out',
      'px',
      '--json',
    ])
    expect(px.status, px.stderr).toBe(0)
    expect((px.json() as Summary).benchmark['cifar10']!['latency.pixel3' as 'test_acc']).toBeGreaterThan(0)
    const pc = nas(cwd, [...RUN, '--channels', '4', '--method', 'pc-darts', '--out', 'pc', '--json'])
    expect(pc.status, pc.stderr).toBe(0)
    expect((pc.json() as Summary).method).toBe('pc-darts')
    const stray = nas(cwd, [...RUN, '--method', 'darts', '--latency-weight', '1', '--out', 'y'])
    expect(stray.stderr).toMatch(/CONFIG_INVALID.*apply to --method proxyless/)
    const device = nas(cwd, [...RUN, '--method', 'proxyless', '--latency-device', 'phone', '--out', 'z'])
    expect(device.stderr).toMatch(/CONFIG_INVALID.*not a device.*pixel3/)
    const bad = nas(cwd, [...RUN, '--method', 'enas', '--out', 'x'])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toMatch(/darts, gdas/)
  })

  it('runs RARTS, SD-DARTS and sharpDARTS, and refuses the unrolled gradient for RARTS', () => {
    const cwd = tempDir()
    for (const method of ['rarts', 'sd-darts', 'sharp-darts']) {
      const r = nas(cwd, [...RUN, '--method', method, '--out', method, '--json'])
      expect(r.status, r.stderr).toBe(0)
      const s = r.json() as Summary
      expect(s.method).toBe(method)
      expect(s.history).toHaveLength(2)
      expect(s.benchmark['cifar10']!.test_acc).toBeGreaterThan(0)
    }
    const header = (m: string) =>
      JSON.parse(readFileSync(join(cwd, m, 'oneshot.json'), 'utf8')) as {
        search: Record<string, unknown>
        arrays: { group: string; name: string }[]
      }
    expect(header('rarts').arrays.some((a) => a.group === 'aux' && a.name.startsWith('y/'))).toBe(true)
    expect(header('sd-darts').search).toMatchObject({ method: 'darts', teachers: 2 })
    expect(header('sharp-darts').search).toMatchObject({ edgeWeighting: 'max-w', lrPowerBase: 2 })
    const unrolled = nas(cwd, [...RUN, '--method', 'rarts', '--order', '2', '--out', 'u'])
    expect(unrolled.stderr).toMatch(/CONFIG_INVALID.*order 2/)
  })

  it('few-shot NAS: splits by gradient matching, reports every sub-supernet, and resumes after a kill', async () => {
    const cwd = tempDir()
    type FewShotSummary = Summary & {
      fewShot: {
        splitEpochs: number[]
        best: string
        splits: { path: string; edge: number; groups: string[][] }[]
        leaves: { path: string; arch: string; validAccuracy: number; cifar10TestAcc: number }[]
      }
    }
    const run = nas(cwd, [...RUN, '--method', 'few-shot', '--out', 'fs', '--json'])
    expect(run.status, run.stderr).toBe(0)
    const s = run.json() as FewShotSummary
    expect(s.fewShot.splitEpochs).toEqual([1])
    expect(s.fewShot.splits).toHaveLength(1)
    expect(s.fewShot.splits[0]!.groups.flat().sort()).toEqual(
      ['avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3', 'none', 'skip_connect'].sort(),
    )
    expect(s.fewShot.leaves.map((l) => l.path)).toEqual(['0', '1'])
    expect(s.arch).toBe(s.fewShot.leaves.find((l) => l.path === s.fewShot.best)!.arch)
    expect(readFileSync(join(cwd, 'fs', 'report.html'), 'utf8')).toContain('sub-supernet 1')

    // killed once the second sub-supernet has its first checkpoint, then run again
    await nasKilledAt(
      cwd,
      [...RUN, '--method', 'few-shot', '--out', 'k'],
      join(cwd, 'k', 'sub-1', 'oneshot.json'),
    )
    const again = nas(cwd, [...RUN, '--method', 'few-shot', '--out', 'k', '--json'])
    expect(again.status, again.stderr).toBe(0)
    const a = again.json() as FewShotSummary
    expect(a.fewShot.leaves).toEqual(s.fewShot.leaves)
    expect(a.history).toEqual(s.history)
    // a directory with a few-shot search in it is not continued by another method
    cpSync(join(cwd, 'k', 'sub-root'), join(cwd, 'm', 'sub-root'), { recursive: true })
    const mixed = nas(cwd, [...RUN, '--method', 'darts', '--out', 'm'])
    expect(mixed.stderr).toMatch(/CONFIG_INVALID.*few-shot search/)
    const stray = nas(cwd, [...RUN, '--method', 'darts', '--split-epochs', '1', '--out', 'x'])
    expect(stray.stderr).toMatch(/CONFIG_INVALID.*--split-epochs applies to --method few-shot/)
    const select = nas(cwd, [...RUN, '--method', 'darts', '--select', 'perturbation', '--out', 'y'])
    expect(select.stderr).toMatch(/CONFIG_INVALID.*--select applies to --method few-shot/)
  })
  it('few-shot NAS with --select perturbation: each final sub-supernet read by perturbation-based selection', () => {
    const cwd = tempDir()
    const pt = nas(cwd, [
      ...RUN,
      '--method',
      'few-shot',
      '--select',
      'perturbation',
      '--train-size',
      '200',
      '--valid-size',
      '100',
      '--out',
      'pt',
      '--json',
    ])
    expect(pt.status, pt.stderr).toBe(0)
    const p = pt.json() as Summary & {
      fewShot: {
        selection: string
        best: string
        splits: unknown[]
        leaves: { path: string; arch: string }[]
      }
    }
    expect(p.fewShot.selection).toBe('perturbation')
    expect(p.fewShot.splits).toHaveLength(1)
    expect(p.fewShot.leaves.map((l) => l.path)).toEqual(['0', '1'])
    expect(p.arch).toBe(p.fewShot.leaves.find((l) => l.path === p.fewShot.best)!.arch)
  })
})
