import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { mnasReward, withDerivedMetrics } from './derived.js'

describe("MnasNet's reward", () => {
  it('is accuracy times (latency / target)^w, w = alpha at or under the target and beta above it', () => {
    const soft = mnasReward({ accuracy: 'acc', latency: 'lat', target: 5 })
    expect(soft.compute({ acc: 90, lat: 5 })).toBe(90)
    expect(soft.compute({ acc: 90, lat: 10 })).toBeCloseTo(90 * 2 ** -0.07, 12)
    expect(soft.compute({ acc: 90, lat: 2.5 })).toBeCloseTo(90 * 0.5 ** -0.07, 12)
    const hard = mnasReward({ accuracy: 'acc', latency: 'lat', target: 5, alpha: 0, beta: -1 })
    expect(hard.compute({ acc: 90, lat: 2 })).toBe(90)
    expect(hard.compute({ acc: 90, lat: 10 })).toBeCloseTo(45, 12)
    expect(soft.compute({ acc: 90 })).toBeNaN()
    expect(soft.compute({ acc: 90, lat: 0 })).toBeNaN()
    expect(soft.compute({ acc: 90, lat: -1 })).toBeNaN()
    expect(() => mnasReward({ accuracy: 'a', latency: 'l', target: 0 })).toThrow(
      /target latency must be a number > 0/,
    )
  })

  test.prop([
    fc.double({ min: 1, max: 100, noNaN: true }),
    fc.double({ min: 0.1, max: 50, noNaN: true }),
    fc.double({ min: 0.1, max: 50, noNaN: true }),
  ])('with negative exponents, a faster network of equal accuracy never scores lower', (acc, lat, faster) => {
    const r = mnasReward({ accuracy: 'acc', latency: 'lat', target: 10 })
    const [lo, hi] = lat < faster ? [lat, faster] : [faster, lat]
    expect(r.compute({ acc, lat: lo })).toBeGreaterThanOrEqual(r.compute({ acc, lat: hi }))
  })

  it('is added to every result of the evaluator it wraps', async () => {
    const inner = (a: number) => Promise.resolve({ acc: 80 + a, lat: 4 + a })
    const ev = withDerivedMetrics(inner, [mnasReward({ accuracy: 'acc', latency: 'lat', target: 5 })])
    const m = await ev(2, { signal: new AbortController().signal, report: () => {} })
    expect(m).toEqual({ acc: 82, lat: 6, 'reward.mnas': 82 * (6 / 5) ** -0.07 })
  })
})
