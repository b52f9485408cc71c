import { describe, expect, it } from 'vitest'
import { drive, make, obj } from '../testing-internal/drive.js'
import { gridSpace } from '../testing/index.js'
import { mnasnetReward } from './reinforce.js'

describe('REINFORCE', () => {
  it('learns a policy that concentrates on the best option of each decision', () => {
    const space = gridSpace(3, 4)
    const s = make('reinforce', space, { learningRate: 0.1 }, 1)
    drive(s, (a) => ({ acc: a.filter((x) => x === 2).length }), 400)
    const policy = s as unknown as { probabilities(n: string): number[] }
    for (const d of ['d0', 'd1', 'd2']) {
      const p = policy.probabilities(d)
      expect(p[2]).toBeGreaterThan(0.7)
    }
  })

  it('computes the MnasNet reward ACC x (LAT/T)^w', () => {
    const r = {
      kind: 'mnasnet' as const,
      accuracy: 'acc',
      latency: 'lat',
      target: 5,
      alpha: -0.07,
      beta: -0.07,
    }
    expect(mnasnetReward({ acc: 90, lat: 10 }, r)).toBeCloseTo(90 * Math.pow(2, -0.07), 10)
    expect(mnasnetReward({ acc: 90, lat: 5 }, r)).toBe(90)
    const hard = { ...r, alpha: 0, beta: -1 }
    expect(mnasnetReward({ acc: 90, lat: 2 }, hard)).toBe(90)
    expect(mnasnetReward({ acc: 90, lat: 10 }, hard)).toBe(45)
    expect(mnasnetReward({ acc: 90 }, r)).toBeUndefined()
  })

  it('with the MnasNet reward trades accuracy for latency under a target', () => {
    const space = gridSpace(2, 4)
    // bigger x: more accurate but slower; the target makes x = 1 the best trade-off under the hard constraint
    const f = (a: number[]) => ({
      acc: 50 + a.reduce((s, x) => s + x, 0),
      lat: 1 + a.reduce((s, x) => s + x, 0),
    })
    const reward = { kind: 'mnasnet', accuracy: 'acc', latency: 'lat', target: 3, alpha: 0, beta: -1 }
    const s = make('reinforce', space, { learningRate: 0.1, reward }, 3, [obj('acc'), obj('lat', 'min')])
    const ps = drive(s, f, 400)
    const late = ps.slice(-100).map((p) => f(p.arch).lat)
    const mean = late.reduce((x, y) => x + y, 0) / late.length
    expect(mean).toBeGreaterThan(2)
    expect(mean).toBeLessThan(4.2)
  })

  it('needs the MnasNet reward for two objectives', () => {
    expect(() => make('reinforce', gridSpace(), {}, 1, [obj('acc'), obj('lat', 'min')])).toThrow(/mnasnet/)
  })
})
