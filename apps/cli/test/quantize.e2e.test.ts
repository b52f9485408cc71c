import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, nas, tempDir } from './helpers.js'

beforeAll(() => assertBuilt())

describe('nas quantize', () => {
  it('quantizes a saved model, reports the accuracies and exports uint8 weights plain TF.js loads', () => {
    const cwd = tempDir()
    const arch =
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    const trained = nas(cwd, [
      'train',
      '--arch',
      arch,
      '--data',
      'digits',
      '--train-size',
      '300',
      '--test-size',
      '100',
      '--width',
      '4',
      '--epochs',
      '6',
      '--save',
      'm',
      '--json',
    ])
    expect(trained.status, trained.stderr).toBe(0)
    const r = nas(cwd, ['quantize', '--model', 'm', '--out', 'q', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const out = r.json() as Record<string, number>
    expect(out['test_acc']).toBeGreaterThan(20)
    expect(Math.abs(out['drop']!)).toBeLessThan(10)
    expect(Math.abs(out['exported_test_acc']! - out['test_acc']!)).toBeLessThan(10)
    // the weights in about a quarter of the bytes (tensors under 64 values stay float32)
    const ratio = statSync(join(cwd, 'q', 'weights.bin')).size / statSync(join(cwd, 'm', 'weights.bin')).size
    expect(ratio).toBeGreaterThan(0.25)
    expect(ratio).toBeLessThan(0.35)
    expect(out['exported_bytes']).toBeLessThan(out['bytes']!)
    expect(JSON.parse(readFileSync(join(cwd, 'q', 'model.json'), 'utf8'))).toMatchObject({
      weightsManifest: [
        {
          weights: expect.arrayContaining([
            expect.objectContaining({ quantization: expect.objectContaining({ dtype: 'uint8' }) }),
          ]),
        },
      ],
    })
    const human = nas(cwd, [
      'quantize',
      '--model',
      'm',
      '--out',
      'q16',
      '--export',
      'float16',
      '--policy',
      'int4',
    ])
    expect(human.status, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/test_acc \(int4, simulated\)\s+\d+\.\d\d %/)
    // a mixed policy: the layers listed, int4 inside, int8 at both ends
    const listed = nas(cwd, ['quantize', '--model', 'm', '--list-layers', '--json'])
    expect(listed.status, listed.stderr).toBe(0)
    const layers = (listed.json() as { layers: { name: string; params: number }[] }).layers
    expect(layers.length).toBeGreaterThan(5)
    const policy = layers.map((_, i) => (i === 0 || i === layers.length - 1 ? 'int8:int8' : 'int4:int8'))
    writeFileSync(join(cwd, 'mixed.json'), JSON.stringify(policy))
    const mixed = nas(cwd, ['quantize', '--model', 'm', '--policy', 'mixed.json', '--out', 'qm', '--json'])
    expect(mixed.status, mixed.stderr).toBe(0)
    const wb = (mixed.json() as { weight_bytes: { quantized: number } }).weight_bytes.quantized
    const w8 = (out as unknown as { weight_bytes: { quantized: number } }).weight_bytes.quantized
    const inner = layers.slice(1, -1).reduce((sum, l) => sum + l.params, 0)
    expect(w8 - wb).toBe((inner * 4) / 8)
    writeFileSync(join(cwd, 'short.json'), JSON.stringify(policy.slice(1)))
    const short = nas(cwd, ['quantize', '--model', 'm', '--policy', 'short.json', '--out', 'qs'])
    expect(short.stderr).toContain(`for a network of ${layers.length} quantizable layers`)
    expect(nas(cwd, ['quantize', '--model', 'm', '--policy', 'int3', '--out', 'x']).stderr).toMatch(
      /CONFIG_INVALID.*not a format/,
    )
    // FLIQS: the policy searched with the weights, written beside the export
    const fliqs = nas(cwd, [
      'quantize',
      '--model',
      'm',
      '--out',
      'qf',
      '--search',
      'fliqs',
      '--formats',
      'int4,int8',
      '--target',
      '0.7',
      '--steps',
      '20',
      '--json',
    ])
    expect(fliqs.status, fliqs.stderr).toBe(0)
    const f = fliqs.json() as {
      policy: string
      quantized_test_acc: number
      fliqs: { policy: string[]; cost: number; target: number; steps: number }
    }
    expect(f.policy).toBe('fliqs')
    expect(f.fliqs.policy).toHaveLength(layers.length)
    expect(f.fliqs.steps).toBe(20)
    expect(f.quantized_test_acc).toBeGreaterThan(10)
    expect(JSON.parse(readFileSync(join(cwd, 'qf', 'policy.json'), 'utf8'))).toEqual(f.fliqs.policy)
    expect(nas(cwd, ['quantize', '--model', 'm', '--out', 'x', '--steps', '5']).stderr).toContain(
      '--steps is an option of --search fliqs',
    )
    expect(nas(cwd, ['quantize', '--model', 'nothing', '--out', 'x']).stderr).toMatch(/DATA_MISSING/)
    expect(nas(cwd, ['quantize', '--model', 'm', '--out', 'm']).stderr).toMatch(/CONFIG_INVALID.*overwrite/)
  })
})
