import { readFileSync, statSync } from 'node:fs'
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
    expect(nas(cwd, ['quantize', '--model', 'nothing', '--out', 'x']).stderr).toMatch(/DATA_MISSING/)
    expect(nas(cwd, ['quantize', '--model', 'm', '--out', 'm']).stderr).toMatch(/CONFIG_INVALID.*overwrite/)
  })
})
