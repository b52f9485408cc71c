import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildMbNetwork, type Dataset } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import {
  ElasticMbv3,
  evaluateSubnet,
  largestArch,
  recalibrate,
  smallestArch,
  type SupernetConfig,
} from '@nasjs/supernet'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { networkQuantLayers } from './cost.js'
import { quantSubnetEvaluator, quantSubnetSpace, subnetLayerPolicy, uniformPolicy } from './simq.js'

const SHAPE = {
  widths: [8, 8, 8, 8, 16, 16, 16, 32, 32] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ],
  resolutions: [8],
  inputChannels: 1,
  classes: 10,
  kernelTransform: false,
  seed: 3,
} satisfies SupernetConfig
let net: ElasticMbv3
let train: Dataset
let valid: Dataset
const ctx = () => ({ signal: new AbortController().signal, report: () => {} })

beforeAll(async () => {
  await initBackend({ quiet: true })
  const digits = await loadDataset('digits', { seed: 1 })
  train = digits.train
  valid = { ...digits.valid, x: digits.valid.x.subarray(0, 120 * 64), y: digits.valid.y.subarray(0, 120) }
  net = new ElasticMbv3(SHAPE)
  const { trainSupernet } = await import('@nasjs/supernet')
  await trainSupernet(net, train, { schedule: 'bignas', epochs: 1, batchSize: 64, lr: 0.1 })
}, 120_000)

describe('quantSubnetSpace', () => {
  it("joins the supernet's subnets with one format pair per block slot", () => {
    const space = quantSubnetSpace(net)
    expect(space.size()).toBe(net.space.size() * 4n ** 20n)
    const rng = new Rng(2)
    for (let i = 0; i < 20; i++) {
      const a = space.sample(rng)
      expect(space.parse(space.format(a))).toEqual(a)
    }
    const text = space.format([smallestArch(SHAPE), uniformPolicy(net, 'int4:int8')])
    expect(text).toMatch(/ \| (int4:int8 ){19}int4:int8$/)
    expect(() => space.parse(net.space.format(smallestArch(SHAPE)))).toThrow(/<subnet> \| <policy>/)
    // the formats of slots the subnet leaves out do not change its hash; those of its blocks do
    const small = smallestArch(SHAPE) // 2 blocks a stage: slots 2, 3 of each stage unused
    const p1 = uniformPolicy(net, 'int8:int8')
    const p2 = p1.map((p, i) => (i % 4 >= 2 ? { weights: 'int4' as const, activations: 'int4' as const } : p))
    const p3 = p1.map((p, i) => (i === 4 ? { weights: 'int4' as const, activations: 'int8' as const } : p))
    expect(space.hash([small, p2])).toBe(space.hash([small, p1]))
    expect(space.hash([small, p3])).not.toBe(space.hash([small, p1]))
    expect(space.hash([largestArch(SHAPE), p2])).not.toBe(space.hash([largestArch(SHAPE), p1]))
    expect(() => space.parse(text.replace('int4:int8', 'fp16:int8'))).toThrow(/fp16/)
  })

  it("gives each block's layers its slot's formats and the stem, first block and head the edges'", () => {
    const arch = net.space.sample(new Rng(7))
    const model = buildMbNetwork(net.network(arch), 0)
    const policy = uniformPolicy(net, 'int8:int8')
    // the second block of the third stage (slot 2 x 4 + 1) in int4
    const stage2 = arch.stages[2].length
    expect(stage2).toBeGreaterThanOrEqual(2)
    policy[9] = { weights: 'int4', activations: 'int4' }
    policy[19] = { weights: 'int2', activations: 'int2' } // unused unless the last stage is 4 deep
    const layers = subnetLayerPolicy(net, model, arch, policy, { weights: 'fp16', activations: 'fp32' })
    const q = networkQuantLayers(model)
    expect(layers).toHaveLength(q.length)
    // stem, first block (depthwise + project), head (conv, feature mix, classifier)
    for (const i of [0, 1, 2, q.length - 3, q.length - 2, q.length - 1])
      expect(layers[i]).toEqual({ weights: 'fp16', activations: 'fp32' })
    // a block: expand, depthwise, project, and the 2 dense layers of squeeze-and-excitation in the
    // stages that have it (OFA's third stage has none, its fifth has)
    expect(layers.filter((l) => l.weights === 'int4').length).toBe(3)
    expect(layers.filter((l) => l.weights === 'int2').length).toBe(arch.stages[4].length === 4 ? 5 : 0)
    expect(() =>
      subnetLayerPolicy(net, model, arch, policy.slice(1), { weights: 'int8', activations: 'int8' }),
    ).toThrow(expect.objectContaining({ code: 'INPUT_INVALID', allowed: [20] }))
    model.dispose()
  })
})

describe('quantSubnetEvaluator', () => {
  it('measures each quantized subnet: float32 equals the supernet, fewer bits fewer bytes, same pair same result', async () => {
    const q = quantSubnetEvaluator({
      net,
      data: { calibration: train, valid, test: valid },
      formats: ['int4', 'int8', 'fp32'],
      edges: 'fp32:fp32',
      calibrationImages: 128,
      rangeImages: 64,
    })
    expect(q.info.metrics).toEqual([
      'acc',
      'float_acc',
      'test_acc',
      'bytes',
      'bitops',
      'peak_act_bytes',
      'params',
      'flops',
    ])
    const arch = largestArch(SHAPE)
    const before = tf.memory().numTensors
    const f32 = await q.evaluator([arch, uniformPolicy(net, 'fp32:fp32')], ctx())
    const bn = recalibrate(net, arch, train, { images: 128, batchSize: 128 })
    const want = 100 * evaluateSubnet(net, arch, valid, { bn }).acc
    expect(f32.float_acc).toBeCloseTo(want, 6)
    expect(f32.acc).toBeCloseTo(want, 6)
    expect(f32.test_acc).toBe(f32.acc)
    const i8 = await q.evaluator([arch, uniformPolicy(net, 'int8:int8')], ctx())
    const i4 = await q.evaluator([arch, uniformPolicy(net, 'int4:int4')], ctx())
    expect(i8.bytes).toBeLessThan(0.5 * f32.bytes!)
    expect(i4.bytes).toBeLessThan(i8.bytes!)
    expect(i4.bitops).toBeLessThan(i8.bitops!)
    expect(Math.abs(i8.acc! - f32.acc!)).toBeLessThan(5)
    expect(i8.float_acc).toBe(f32.float_acc)
    // cheap metrics are the evaluated ones
    const cheap = q.cheapMetrics([arch, uniformPolicy(net, 'int8:int8')])
    expect(cheap).toEqual({
      bitops: i8.bitops,
      peak_act_bytes: i8.peak_act_bytes,
      params: i8.params,
      flops: i8.flops,
    })
    expect(await q.evaluator([arch, uniformPolicy(net, 'int8:int8')], ctx())).toEqual(i8)
    q.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('rejects bad options with one clear error each', () => {
    const data = { calibration: train, valid }
    expect(() => quantSubnetEvaluator({ net, data, edges: 'int8' })).toThrow(/weights:activations/)
    expect(() => quantSubnetEvaluator({ net, data, formats: ['int3' as never] })).toThrow(
      /unknown format 'int3'/,
    )
    expect(() => quantSubnetEvaluator({ net, data, rangeImages: 0 })).toThrow(
      /rangeImages must be a whole number/,
    )
    expect(() =>
      quantSubnetEvaluator({ net, data: { calibration: { ...train, classes: 3 }, valid } }),
    ).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }))
  })
})
