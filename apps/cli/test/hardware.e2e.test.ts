import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, tempDir } from './helpers.js'

const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
// a 2-channel NB201 network with one cell per stage: quick to build and to time
const TINY = ['--width', '2', '--cells', '1']

beforeAll(() => {
  assertBuilt()
  // tests share a loaded machine: measure once instead of waiting for quiet
  process.env['NASJS_QUIET_RETRIES'] = '0'
})

describe('nas hardware', () => {
  it('measure reports latency, cold start, memory and download size of one network', () => {
    const cwd = tempDir()
    const r = nas(cwd, [
      'hardware',
      'measure',
      '--arch',
      BEST,
      ...TINY,
      '--runs',
      '5',
      '--warmup',
      '1',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const j = r.json() as {
      latency: { median: number; runs: number }
      coldStart: { loadMs: number; firstInferenceMs: number }
      memory: { peakTensorBytes: number }
      size: { float32: number; float16: number; uint8: number }
      device: { backend: string }
    }
    expect(j.latency.runs).toBe(5)
    expect(j.latency.median).toBeGreaterThan(0)
    expect(j.coldStart.firstInferenceMs).toBeGreaterThan(0)
    expect(j.memory.peakTensorBytes).toBeGreaterThan(0)
    expect(j.size.float32).toBe(2 * j.size.float16)
    expect(j.device.backend).toBe('wasm')
  })

  it('lut build writes a table that lut check compares with whole networks', () => {
    const cwd = tempDir()
    const build = nas(cwd, [
      'hardware',
      'lut',
      'build',
      ...TINY,
      '--runs',
      '2',
      '--calibrate',
      '2',
      '--out',
      'lut.json',
    ])
    expect(build.status, build.stderr).toBe(0)
    expect(build.stdout).toMatch(/wrote lut\.json: \d+ blocks of nb201/)
    expect(build.stderr).toMatch(/^blocks 1\/\d+ · /m)
    // two rounds of two networks
    expect(build.stderr).toMatch(/^calibrate 4\/4 · /m)
    const lut = JSON.parse(readFileSync(join(cwd, 'lut.json'), 'utf8')) as Record<string, unknown>
    expect(lut).toMatchObject({ format: 'nasjs-latency-table', version: 1, space: 'nb201', unit: 'ms' })
    const check = nas(cwd, [
      'hardware',
      'lut',
      'check',
      '--lut',
      'lut.json',
      '--sample',
      '3',
      '--runs',
      '3',
      '--json',
    ])
    expect(check.status, check.stderr).toBe(0)
    const j = check.json() as {
      networks: number
      within10: number
      rows: { measured: number; predicted: number }[]
    }
    expect(j.networks).toBe(3)
    expect(j.rows).toHaveLength(3)
    expect(j.within10).toBeGreaterThanOrEqual(0)
  })

  it.each([
    [['lut', 'build', '--space', 'darts', '--out', 'x.json'], /NOT_REGISTERED.*darts/],
    [['lut', 'build', '--resolutions', '160', '--out', 'x.json'], /--resolutions picks ofa-mbv3/],
    [
      ['lut', 'build', '--space', 'ofa-mbv3', '--resolutions', '150', '--out', 'x.json'],
      /not an ofa-mbv3 resolution/,
    ],
    [['lut', 'check', '--lut', 'missing.json'], /IO.*missing\.json/],
    [['lut', 'check', '--lut', 'bad.json'], /DATA_CORRUPT.*bad\.json/],
    [['measure', '--arch', 'nope'], /ARCH_INVALID/],
  ])('%j is refused with one NasError', (args, message) => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ format: 'nasjs-latency-table', version: 1 }))
    const r = nas(cwd, ['hardware', ...args])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/^nas: error \[[A-Z_]+\]/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('hardware metrics in nas search', () => {
  interface Summary {
    ok: boolean
    trials: number
    best?: { arch: string; metrics: Record<string, number> }
    front: { arch: string; metrics: Record<string, number> }[]
  }
  const header = (cwd: string, dir: string) =>
    JSON.parse(readFileSync(join(cwd, dir, 'trials.jsonl'), 'utf8').split('\n')[0]!) as {
      meta: Record<string, unknown>
    }

  it('measures latency on this backend beside the benchmark accuracy', () => {
    const cwd = tempDir()
    const r = nas(cwd, [
      'search',
      '--strategy',
      'nsga2',
      '--budget',
      '6',
      '--objective',
      'valid_acc:max',
      '--objective',
      'latency.tfjs-wasm:min',
      '--out',
      'r',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as Summary
    for (const f of s.front) expect(f.metrics['latency.tfjs-wasm']).toBeGreaterThan(0)
    expect(header(cwd, 'r').meta).toMatchObject({ hardware: { metrics: ['latency.tfjs-wasm'] } })
  })

  it("predicts latency from a table, checks a constraint on it before the lookup, and ranks by MnasNet's reward; a changed table stops a resume", () => {
    const cwd = tempDir()
    expect(
      nas(cwd, ['hardware', 'lut', 'build', '--runs', '3', '--calibrate', '2', '--out', 'lut.json', '-q'])
        .status,
    ).toBe(0)
    const args = [
      'search',
      '--strategy',
      'rea',
      '--budget',
      '12',
      '--objective',
      'reward.mnas:max',
      '--mnas',
      'valid_acc,latency.lut,6',
      '--constraint',
      'latency.lut:lut.json<=9', // the table named in the metric, as --lut lut.json
      '--out',
      'r',
      '--json',
    ]
    const r = nas(cwd, args)
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as Summary
    const m = s.best!.metrics
    expect(m['reward.mnas']).toBeCloseTo(m['valid_acc']! * (m['latency.lut']! / 6) ** -0.07, 6)
    expect(m['latency.lut']).toBeLessThanOrEqual(9)
    expect(header(cwd, 'r').meta).toMatchObject({
      hardware: {
        metrics: ['latency.lut'],
        mnas: { accuracy: 'valid_acc', latency: 'latency.lut', target: 6 },
      },
    })
    // a table of the CIFAR-10 network does not fit the ImageNet16-120 one
    const other = nas(cwd, [...args.slice(0, -3), '--dataset', 'imagenet16-120', '--out', 'other'])
    expect(other.status).not.toBe(0)
    expect(other.stderr).toMatch(/CONFIG_INVALID.*built for another network/)
    // the reward over a benchmark latency: asked of the table under it
    const table = nas(cwd, [
      'search',
      '--strategy',
      'rea',
      '--budget',
      '6',
      '--objective',
      'reward.mnas:max',
      '--mnas',
      'valid_acc,latency.pixel3,20',
      '--out',
      'pixel3',
      '--json',
    ])
    expect(table.status, table.stderr).toBe(0)
    const b = (table.json() as Summary).best!.metrics
    expect(b['reward.mnas']).toBeCloseTo(b['valid_acc']! * (b['latency.pixel3']! / 20) ** -0.07, 6)
    const resumeLut = nas(cwd, ['search', '--out', 'r', '--resume', '--lut', 'lut.json'])
    expect(resumeLut.stderr).toMatch(/--resume keeps the run's hardware setup; drop --lut/)
    const lut = JSON.parse(readFileSync(join(cwd, 'lut.json'), 'utf8')) as { overhead: number }
    writeFileSync(join(cwd, 'lut.json'), JSON.stringify({ ...lut, overhead: lut.overhead + 1 }))
    const changed = nas(cwd, ['search', '--out', 'r', '--resume', '--budget', '14'])
    expect(changed.status).not.toBe(0)
    expect(changed.stderr).toMatch(/DATA_CORRUPT.*changed since the run started/)
  })

  it('predicts latency with HELP adapted to a device; the device must belong to the predictor, and a changed device stops a resume', () => {
    const cwd = tempDir()
    const train = nas(cwd, [
      'hardware',
      'predictor',
      'train',
      '--episodes',
      '2',
      '--out',
      'help.json',
      '--json',
    ])
    expect(train.status, train.stderr).toBe(0)
    expect(train.json()).toMatchObject({ ok: true, episodes: 2, kept: 2 })
    const device = nas(cwd, [
      'hardware',
      'predictor',
      'device',
      '--predictor',
      'help.json',
      '--from-table',
      'pixel2',
      '--out',
      'pixel2.json',
      '--json',
    ])
    expect(device.status, device.stderr).toBe(0)
    const file = JSON.parse(readFileSync(join(cwd, 'pixel2.json'), 'utf8')) as {
      references: number[]
      rangeLatencies: number[]
      support: { arch: string; ms: number }[]
    }
    expect(file.references).toHaveLength(10)
    expect(file.rangeLatencies).toHaveLength(2)
    expect(file.support).toHaveLength(10)
    const args = [
      'search',
      '--strategy',
      'nsga2',
      '--budget',
      '10',
      '--objective',
      'valid_acc:max',
      '--objective',
      'latency.help:min',
      '--help-predictor',
      'help.json',
      '--help-device',
      'pixel2.json',
      '--out',
      'r',
      '--json',
    ]
    const r = nas(cwd, args)
    expect(r.status, r.stderr).toBe(0)
    const s = r.json() as Summary
    for (const f of s.front) expect(f.metrics['latency.help']).toBeGreaterThan(0)
    expect(header(cwd, 'r').meta).toMatchObject({
      hardware: { metrics: ['latency.help'], help: { device: { name: 'pixel2' } } },
    })
    // the same seed and files, the same predictions; the device named in the metric is the same
    const again = nas(cwd, [...args.slice(0, -3), '--out', 'again', '--json'])
    expect((again.json() as Summary).front).toEqual(s.front)
    const named = nas(cwd, [
      ...args.slice(0, 8),
      'latency.help:pixel2.json:min',
      '--help-predictor',
      'help.json',
      '--out',
      'named',
      '--json',
    ])
    expect(named.status, named.stderr).toBe(0)
    expect((named.json() as Summary).front).toEqual(s.front)
    expect(header(cwd, 'named').meta).toMatchObject({
      hardware: { metrics: ['latency.help'], help: { device: { name: 'pixel2' } } },
    })
    const missing = nas(cwd, ['search', '--objective', 'latency.help:min', '--out', 'x'])
    expect(missing.stderr).toMatch(/CONFIG_INVALID.*give --help-predictor <file>/)
    const stray = nas(cwd, ['search', '--help-device', 'pixel2.json', '--out', 'y'])
    expect(stray.stderr).toMatch(/CONFIG_INVALID.*use it in an objective or a constraint/)
    // a device measured for another predictor
    writeFileSync(
      join(cwd, 'other.json'),
      JSON.stringify({
        ...JSON.parse(readFileSync(join(cwd, 'pixel2.json'), 'utf8')),
        predictor: 'f'.repeat(64),
      }),
    )
    const other = nas(cwd, [...args.slice(0, -5), '--help-device', 'other.json', '--out', 'o'])
    expect(other.stderr).toMatch(/CONFIG_INVALID.*measured for another predictor/)
    writeFileSync(
      join(cwd, 'pixel2.json'),
      JSON.stringify({ ...file, references: file.references.map((v) => v * 2) }),
    )
    const changed = nas(cwd, ['search', '--out', 'r', '--resume', '--budget', '12'])
    expect(changed.status).not.toBe(0)
    expect(changed.stderr).toMatch(/DATA_CORRUPT.*changed since the run started/)
  })

  it('adds peak memory and download size to a proxy search', () => {
    const cwd = tempDir()
    const r = nas(cwd, [
      'search',
      '--evaluator',
      'proxy',
      '--data',
      'digits',
      '--width',
      '4',
      '--batch-size',
      '8',
      '--strategy',
      'nsga2',
      '--budget',
      '6',
      '--objective',
      'zc.synflow:max',
      '--objective',
      'size.bytes:min',
      '--constraint',
      'memory.peak<=100000000',
      '--out',
      'r',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    for (const f of (r.json() as Summary).front) {
      expect(f.metrics['size.bytes']).toBeGreaterThan(0)
      expect(f.metrics['memory.peak']).toBeGreaterThan(0)
    }
  })

  it.each([
    [['--objective', 'latency.lut:min'], /give it with --lut <file>/],
    [['--objective', 'latency.lut:a.json:min', '--lut', 'b.json'], /two files, b\.json and a\.json/],
    [['--objective', 'latency.lut::min'], /names no file after latency\.lut:/],
    [['--objective', 'reward.mnas:max'], /with --mnas accuracy,latency,target/],
    [['--objective', 'valid_acc:max', '--lut', 'x.json'], /--lut gives the table of the metric latency\.lut/],
    [
      ['--objective', 'reward.mnas:max', '--mnas', 'valid_acc,latency.lut'],
      /expected accuracy,latency,target/,
    ],
    [['--objective', 'latency.tfjs-webgl:min'], /measured on the TF\.js backend in use, which is wasm/],
  ])('%j is refused with one NasError', (args, message) => {
    const cwd = tempDir()
    const r = nas(cwd, ['search', ...args, '--budget', '2', '--out', 'r'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
