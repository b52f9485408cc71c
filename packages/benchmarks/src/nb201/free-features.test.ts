import { isNasError } from '@nasjs/core'
import { describe, expect, it } from 'vitest'

import { nb201FreeFeatures } from './free-features.js'
import { loadNb201 } from './nb201.js'

const bench = loadNb201()
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe('nb201FreeFeatures', () => {
  it('gives log params, log FLOPs and the zero-cost scores of an architecture', () => {
    const free = nb201FreeFeatures(bench, 'cifar10')
    expect(free.names).toEqual(['log params', 'log flops', 'naswot', 'zen'])
    const q = bench.query(11, 'cifar10')
    expect(free.of(bench.archStrAt(11))).toEqual([Math.log(q.params!), Math.log(q.flops!), q.naswot, q.zen])
    expect(nb201FreeFeatures(bench, 'cifar100').names).toEqual(['log params', 'log flops', 'zen'])
  })

  it('fills the missing scores of disconnected cells with the lowest score, so every value is finite', () => {
    const free = nb201FreeFeatures(bench, 'cifar10', { metrics: ['naswot', 'zen'] })
    const naswot = bench.column('cifar10', 'naswot')
    const missing = naswot.findIndex((v) => Number.isNaN(v))
    expect(missing).toBeGreaterThanOrEqual(0)
    const lowest = Math.min(...Array.from(naswot).filter(Number.isFinite))
    expect(free.of(missing)[0]).toBe(lowest)
    for (let i = 0; i < bench.size; i += 97) expect(free.of(i).every(Number.isFinite)).toBe(true)
  })

  it('refuses metrics that need training, naming the free ones', () => {
    const e = thrown(() => nb201FreeFeatures(bench, 'cifar10', { metrics: ['valid_acc'] }))
    expect(isNasError(e) && e.code).toBe('INPUT_INVALID')
    expect(isNasError(e) && e.allowed).toEqual(['params', 'flops', 'naswot', 'zen'])
    expect(() => nb201FreeFeatures(bench, 'cifar100', { metrics: ['naswot'] })).toThrow(/CIFAR-10 only/)
  })
})
