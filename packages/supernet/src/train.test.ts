import { expectNoLeaks, initBackend } from '@nasjs/backend'
import type { OfaArch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { largestArch, smallestArch } from './config.js'
import { ElasticMbv3 } from './elastic.js'
import { evaluateSubnet, recalibrate } from './subnet.js'
import { caught, quadrants, TINY } from './testing-internal/fixtures.js'
import type { SupernetTrainConfig, SupernetTrainState } from './train.js'
import { supernetPhases, trainSupernet } from './train.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const data = quadrants(64)

describe('supernetPhases', () => {
  it("splits progressive shrinking into OFA's six phases in OFA's proportions", () => {
    const net = new ElasticMbv3(TINY)
    const phases = supernetPhases(net.config, { epochs: 59 }, 640)
    net.dispose()
    expect(phases.map((p) => p.name)).toEqual([
      'full',
      'kernel',
      'depth-1',
      'depth-2',
      'expand-1',
      'expand-2',
    ])
    // 59 epochs of 10 steps: 180, 120, 25, 120, 25, 120 tenths of the 590 steps
    expect(phases.map((p) => p.steps)).toEqual([180, 120, 25, 120, 25, 120])
    expect(phases.map((p) => +(p.lr / 0.05).toFixed(2))).toEqual([1, 0.6, 0.05, 0.15, 0.05, 0.15])
    expect(phases.map((p) => p.subnets)).toEqual([1, 1, 2, 2, 4, 4])
    expect(phases[2]!.choices.depths).toEqual([3, 4])
    expect(phases[4]!.choices.expands).toEqual([4, 6])
    expect(phases.map((p) => p.sortChannels)).toEqual([undefined, undefined, undefined, undefined, 0, 1])
  })

  it('takes other shares of the epochs by phase name, and names the phases when one is unknown', () => {
    const net = new ElasticMbv3(TINY)
    const phases = supernetPhases(net.config, { epochs: 60, shares: { full: 300 } }, 640)
    const bad = caught(() => supernetPhases(net.config, { shares: { teacher: 1 } }, 640))
    net.dispose()
    // 600 steps: 300 of 710 shares to the full network
    expect(phases.map((p) => p.steps)).toEqual([254, 101, 21, 101, 21, 101])
    expect(bad).toMatchObject({
      code: 'CONFIG_INVALID',
      allowed: ['full', 'kernel', 'depth-1', 'depth-2', 'expand-1', 'expand-2'],
    })
  })

  it('has one sandwich phase for BigNAS', () => {
    const net = new ElasticMbv3(TINY)
    const phases = supernetPhases(net.config, { schedule: 'bignas', epochs: 2 }, 640)
    net.dispose()
    expect(phases.map((p) => [p.name, p.steps, p.subnets])).toEqual([['sandwich', 20, 2]])
  })

  it('rejects a bad config with one clear error', () => {
    const net = new ElasticMbv3(TINY)
    const e = caught(() =>
      supernetPhases(net.config, { schedule: 'ofa' } as unknown as SupernetTrainConfig, 640),
    )
    net.dispose()
    expect(e).toMatchObject({ name: 'NasError', code: 'CONFIG_INVALID' })
    expect(String(e)).toContain('schedule')
  })
})

describe('trainSupernet', () => {
  const recipe = {
    epochs: 6,
    batchSize: 16,
    subnetsPerStep: { kernel: 1, depth: 2, expand: 2 },
    lr: 0.1,
    seed: 3,
  }

  it('runs every phase of progressive shrinking, learns, and leaks no tensor', async () => {
    const net = new ElasticMbv3({ ...TINY, seed: 1 })
    const before = tf.memory().numTensors
    const phases = new Set<string>()
    const r = await trainSupernet(
      net,
      data,
      { ...recipe, epochs: 16 },
      { onProgress: (p) => phases.add(p.phase) },
    )
    expect(tf.memory().numTensors).toBe(before)
    expect(r.status).toBe('complete')
    expect(r.steps).toBe(r.totalSteps)
    expect(Math.abs(r.totalSteps - 64)).toBeLessThanOrEqual(3) // each phase rounded to whole steps
    expect([...phases]).toEqual(['full', 'kernel', 'depth-1', 'depth-2', 'expand-1', 'expand-2'])
    // 64 steps teach the largest subnet and lift the smallest above chance (0.25) on 4 quadrants
    const accuracy = (arch: OfaArch) =>
      evaluateSubnet(net, arch, data, { bn: recalibrate(net, arch, data, { images: 64 }) }).acc
    expect(accuracy(largestArch(TINY))).toBeGreaterThan(0.5)
    expect(accuracy(smallestArch(TINY))).toBeGreaterThan(0.4)
    expect(tf.memory().numTensors).toBe(before)
    net.dispose()
  })

  it('resumed from a checkpoint, ends with the weights of a run straight through', async () => {
    const straight = new ElasticMbv3({ ...TINY, seed: 2 })
    await trainSupernet(straight, data, recipe)
    const first = new ElasticMbv3({ ...TINY, seed: 2 })
    let saved: SupernetTrainState | undefined
    // stop in the middle of the depth phases, after the teacher was frozen
    const r1 = await trainSupernet(first, data, recipe, {
      maxSteps: 11,
      onCheckpoint: (s) => {
        saved = s
      },
    })
    expect(r1.status).toBe('budget')
    expect(saved?.step).toBe(11)
    expect(saved?.teacher).toBeDefined()
    first.dispose()
    const second = new ElasticMbv3({ ...TINY, seed: 99 })
    await trainSupernet(second, data, recipe, { resume: saved! })
    const a = straight.state()
    const b = second.state()
    expect(b.map((w) => w.name)).toEqual(a.map((w) => w.name))
    a.forEach((w, i) => expect([w.name, Array.from(b[i]!.values)]).toEqual([w.name, Array.from(w.values)]))
    straight.dispose()
    second.dispose()
  })

  it('trains with the sandwich rule and complexity-aware sampling', async () => {
    const net = new ElasticMbv3({ ...TINY, kernelTransform: false, zeroInitResidual: true, seed: 4 })
    const before = tf.memory().numTensors
    let saved: SupernetTrainState | undefined
    const r = await trainSupernet(
      net,
      data,
      {
        schedule: 'bignas',
        epochs: 3,
        batchSize: 16,
        sampling: 'complexity',
        complexity: { bins: 3 },
        lr: 0.1,
      },
      {
        onCheckpoint: (s) => {
          saved = s
        },
      },
    )
    expect(tf.memory().numTensors).toBe(before)
    expect(r.status).toBe('complete')
    expect(Number.isFinite(r.loss)).toBe(true)
    // 12 steps of 3 random subnets each: every draw was recorded in a bin
    expect(saved?.sampler?.count.reduce((s, c) => s + c, 0)).toBe(24)
    const arch = largestArch(TINY)
    const bn = recalibrate(net, arch, data, { images: 64 })
    expect(evaluateSubnet(net, arch, data, { bn }).acc).toBeGreaterThan(0.5)
    net.dispose()
  })

  it('leaves no tensor, backend buffer or wasm-heap growth behind over an epoch', async () => {
    const net = new ElasticMbv3({ ...TINY, seed: 6 })
    const epoch = { ...recipe, epochs: 1 }
    // the first epoch grows the wasm heap to its working size; the second must not grow it further
    await trainSupernet(net, data, epoch)
    await expectNoLeaks(() => trainSupernet(net, data, epoch))
    await expectNoLeaks(() => trainSupernet(net, data, { ...epoch, schedule: 'bignas' }))
    net.dispose()
  })

  it('stops on the signal with a checkpoint', async () => {
    const net = new ElasticMbv3(TINY)
    const ctrl = new AbortController()
    let saved: SupernetTrainState | undefined
    const r = await trainSupernet(net, data, recipe, {
      signal: ctrl.signal,
      onProgress: (p) => p.step === 5 && ctrl.abort(),
      onCheckpoint: (s) => {
        saved = s
      },
    })
    expect(r.status).toBe('aborted')
    expect(saved?.step).toBe(r.steps)
    net.dispose()
  })
})
