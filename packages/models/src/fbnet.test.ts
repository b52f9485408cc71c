import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { fbnet } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportArtifacts } from './export.js'
import type { FbnetNetworkOptions } from './fbnet.js'
import { buildFbnet, fbnetCost } from './fbnet.js'
import { codeOf, maxDiff, trainableCount } from './testing-internal/model-checks.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** FBNet-A, -B and -C (the FBNet paper, Figure 4; maskrcnn-benchmark's fbnet_modeldef.py). */
const FBNET_A = fbnet.parse(
  'skip k3_e3 k3_e1 skip skip k5_e6 k3_e3 k5_e1 k3_e3 k5_e6 k5_e3 k5_e1_g2 k5_e6 k3_e6 k5_e1_g2 k5_e1 k3_e1_g2 k5_e6 k5_e6 k5_e3 k5_e6 k5_e6',
)
const FBNET_B = fbnet.parse(
  'k3_e1 k3_e6 k5_e1 k3_e1 k3_e1 k5_e6 k5_e3 k3_e6 k5_e6 k5_e6 k5_e1 skip k5_e3 k5_e6 k3_e1 k5_e1 k5_e3 k5_e6 k5_e1 k5_e6 k5_e6 k3_e6',
)
const FBNET_C = fbnet.parse(
  'k3_e1 k3_e6 skip k3_e1 k3_e1 k5_e6 k5_e3 k5_e6 k3_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k3_e6',
)

describe('fbnetCost: exact counts, checked against HW-NAS-Bench', () => {
  it("equals HW-NAS-Bench's FBNet_Infer for FBNet-A, -B and -C (ImageNet and CIFAR-100 settings)", () => {
    // FBNet_Infer({op_idx_list, num_classes, dataset}) of GATECH-EIC/HW-NAS-Bench: trainable parameters,
    // and MACs of its convolutions and linear layer with one per bias, counted by forward hooks
    const cases: [string, typeof FBNET_A, 'imagenet' | 'cifar', number, number][] = [
      ['A', FBNET_A, 'imagenet', 4_914_712, 247_749_792],
      ['B', FBNET_B, 'imagenet', 4_813_048, 296_615_728],
      ['C', FBNET_C, 'imagenet', 5_572_200, 384_961_160],
      ['A', FBNET_A, 'cifar', 2_910_292, 74_010_468],
      ['B', FBNET_B, 'cifar', 2_808_628, 85_592_164],
      ['C', FBNET_C, 'cifar', 3_567_780, 114_439_652],
    ]
    for (const [name, arch, macro, params, flops] of cases)
      expect(fbnetCost(arch, { macro }), `FBNet-${name} ${macro}`).toEqual({ params, flops })
    // timm's fbnetc_100 (the same network): 5.57 M parameters
    expect((fbnetCost(FBNET_C).params / 1e6).toFixed(2)).toBe('5.57')
  })

  it('a skip that keeps the shape costs nothing; one that changes it is a strided 1x1 convolution', () => {
    const base = fbnet.parse(Array(22).fill('k3_e1').join(' '))
    const at = (i: number) => fbnetCost(base.map((o, j) => (j === i ? 'skip' : o)))
    const full = fbnetCost(base)
    // layer 2 (24 -> 24, stride 1): a k3_e1 block on 24 channels at 56x56 goes away
    const block = 24 * 24 + 2 * 24 + 9 * 24 + 2 * 24 + 24 * 24 + 2 * 24
    expect(full.params - at(2).params).toBe(block)
    expect(full.flops - at(2).flops).toBe(56 * 56 * (24 * 24 + 9 * 24 + 24 * 24))
    // layer 1 (16 -> 24, stride 2) becomes a 1x1 convolution 16 -> 24 with BatchNorm
    expect(at(1).params).toBe(
      full.params - (16 * 16 + 2 * 16 + 9 * 16 + 2 * 16 + 16 * 24 + 2 * 24) + 16 * 24 + 2 * 24,
    )
  })
})

describe('buildFbnet', () => {
  it('builds networks whose trainable weights equal the analytic count (8 random, both settings)', () => {
    const rng = new Rng(5)
    for (let i = 0; i < 8; i++) {
      const arch = i === 0 ? FBNET_A : fbnet.sample(rng)
      const options: FbnetNetworkOptions =
        i % 2 === 0 ? { macro: 'cifar', classes: 10 } : { inputShape: [64, 64, 3], classes: 10 }
      const model = buildFbnet(arch, options)
      expect(trainableCount(model), fbnet.format(arch)).toBe(fbnetCost(arch, options).params)
      expect(model.outputs[0]!.shape).toEqual([null, 10])
      model.dispose()
    }
  })

  it('defaults: 224x224x3 and 1000 classes (imagenet), 32x32x3 and 100 classes (cifar)', () => {
    const arch = fbnet.parse(Array(22).fill('skip').join(' '))
    const a = buildFbnet(arch)
    const b = buildFbnet(arch, { macro: 'cifar' })
    expect([a.inputs[0]!.shape, a.outputs[0]!.shape]).toEqual([
      [null, 224, 224, 3],
      [null, 1000],
    ])
    expect([b.inputs[0]!.shape, b.outputs[0]!.shape]).toEqual([
      [null, 32, 32, 3],
      [null, 100],
    ])
    a.dispose()
    b.dispose()
  })

  it('runs forward without leaking tensors; only standard TF.js layers', async () => {
    const model = buildFbnet(FBNET_A, { macro: 'cifar', classes: 10 })
    expect(model.layers.filter((l) => l.getClassName().startsWith('Nas'))).toEqual([])
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1)
    // the first two runs grow the wasm heap to its working size (it never shrinks)
    for (let i = 0; i < 2; i++) tf.tidy(() => model.predict(x))
    await expectNoLeaks(() => {
      for (let i = 0; i < 3; i++)
        tf.tidy(() => {
          const y = model.predict(x) as tf.Tensor
          expect(y.shape).toEqual([2, 10])
          expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true)
        })
    })
    x.dispose()
    model.dispose()
  })

  it('saves and loads back, and exports for plain TF.js, with equal outputs', async () => {
    // FBNet-A has all three grouped blocks (k5_e1_g2 twice, k3_e1_g2) and strided skips
    const model = buildFbnet(FBNET_A, { macro: 'cifar', inputShape: [16, 16, 3], classes: 5, seed: 4 })
    let saved: tf.io.ModelArtifacts | undefined
    await model.save(
      tf.io.withSaveHandler(
        (a) => (
          (saved = a),
          Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })
        ),
      ),
    )
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!))
    const exported = await tfl.loadLayersModel(tf.io.fromMemory(await exportArtifacts(model)))
    const x = tf.randomNormal([3, 16, 16, 3], 0, 1, 'float32', 2)
    const [a, b, c] = tf.tidy(() => [model, loaded, exported].map((m) => m.predict(x) as tf.Tensor))
    expect(maxDiff(a!, b!)).toBeLessThan(1e-5)
    expect(maxDiff(a!, c!)).toBeLessThan(1e-5)
    tf.dispose([x, a!, b!, c!])
    for (const m of [model, loaded, exported]) m.dispose()
  })

  it('same seed, same weights; another seed, other weights', () => {
    const w = (seed: number) => {
      const m = buildFbnet(FBNET_B, { macro: 'cifar', inputShape: [8, 8, 3], classes: 2, seed })
      const v = Array.from(m.getWeights()[0]!.dataSync())
      m.dispose()
      return v
    }
    expect(w(1)).toEqual(w(1))
    expect(w(2)).not.toEqual(w(1))
  })

  it('bad input is one NasError with a code', () => {
    expect(codeOf(() => buildFbnet(FBNET_C.slice(0, 21)))).toBe('ARCH_INVALID')
    expect(codeOf(() => fbnetCost(FBNET_C.map((o, i) => (i === 3 ? 'k7_e6' : o)) as never))).toBe(
      'ARCH_INVALID',
    )
    for (const bad of [
      { macro: 'mobile' },
      { classes: 1 },
      { inputShape: [0, 32, 3] },
      { dropout: -0.1 },
      { width: 1 },
    ]) {
      expect(
        codeOf(() => buildFbnet(FBNET_C, bad as never)),
        JSON.stringify(bad),
      ).toBe('CONFIG_INVALID')
      expect(
        codeOf(() => fbnetCost(FBNET_C, bad as never)),
        JSON.stringify(bad),
      ).toBe('CONFIG_INVALID')
    }
  })
})
