import { isNasError } from '@nasjs/core'
import { describe, expect, it } from 'vitest'

import { nb201FreeFeatures, nb201OpCounts } from './free-features.js'
import { loadNb201 } from '../node/nb201.js'
import { NB201_ZC_PROXIES } from './zero-cost.js'
import { thrown } from '../testing-internal/thrown.js'

const bench = loadNb201()

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

  it('counts live and executed ops of a cell', () => {
    // skip on 3<-0 only: nodes 1 and 2 never reach the output, so nothing else runs.
    const identity = ['avg_pool_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'none', 'none'] as const
    expect(nb201OpCounts(identity, 'live')).toEqual([0, 0, 0, 1])
    expect(nb201OpCounts(identity, 'executed')).toEqual([0, 0, 0, 1])
    // 3x3 conv on 3<-1 with node 1 fed by `none`: it runs (on zeros) but lies on no input-output path.
    const zeroFed = ['none', 'none', 'none', 'skip_connect', 'nor_conv_3x3', 'none'] as const
    expect(nb201OpCounts(zeroFed, 'live')).toEqual([0, 0, 0, 1])
    expect(nb201OpCounts(zeroFed, 'executed')).toEqual([1, 0, 0, 1])
    // 1->2->3 chain reaches the output through node 2.
    const chain = ['nor_conv_1x1', 'none', 'avg_pool_3x3', 'none', 'none', 'nor_conv_3x3'] as const
    expect(nb201OpCounts(chain, 'live')).toEqual([1, 1, 1, 0])
    const allNone = ['none', 'none', 'none', 'none', 'none', 'none'] as const
    expect(nb201OpCounts(allNone, 'executed')).toEqual([0, 0, 0, 0])
  })

  it('gives the structure metrics as four columns each, only when asked', () => {
    const free = nb201FreeFeatures(bench, 'cifar100', { metrics: ['params', 'live_ops', 'executed_ops'] })
    expect(free.names).toEqual([
      'log params',
      'live conv3x3',
      'live conv1x1',
      'live avg_pool',
      'live skip',
      'executed conv3x3',
      'executed conv1x1',
      'executed avg_pool',
      'executed skip',
    ])
    const ops = [
      'nor_conv_3x3',
      'nor_conv_3x3',
      'nor_conv_3x3',
      'skip_connect',
      'nor_conv_3x3',
      'nor_conv_1x1',
    ] as const
    expect(free.of(ops).slice(1)).toEqual([4, 1, 0, 1, 4, 1, 0, 1])
    expect(nb201FreeFeatures(bench, 'cifar10').names).not.toContain('live skip')
    const withStructure = nb201FreeFeatures(bench, 'cifar100', { structure: true })
    expect(withStructure.names.slice(0, 3)).toEqual(['log params', 'log flops', 'zen'])
    expect(withStructure.names).toHaveLength(11)
  })

  it('refuses metrics that need training, naming the free ones', () => {
    const e = thrown(() => nb201FreeFeatures(bench, 'cifar10', { metrics: ['valid_acc'] }))
    expect(isNasError(e) && e.code).toBe('INPUT_INVALID')
    expect(isNasError(e) && e.allowed).toEqual([
      'params',
      'flops',
      'naswot',
      'zen',
      'live_ops',
      'executed_ops',
      ...NB201_ZC_PROXIES,
    ])
    expect(() => nb201FreeFeatures(bench, 'cifar100', { metrics: ['naswot'] })).toThrow(/CIFAR-10 only/)
  })
})
