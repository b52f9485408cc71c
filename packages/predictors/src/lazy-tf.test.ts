import { Rng, isNasError } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry } from '@nasjs/strategies'
import { describe, expect, it } from 'vitest'

// TF.js keeps its engine on the global object from the moment tfjs-core is evaluated.
const tfLoaded = (): boolean => (globalThis as { _tfengine?: unknown })._tfengine !== undefined

describe('TF.js is loaded on first need', () => {
  it('importing the package loads none; fitSync before prepare is a BACKEND error; prepare loads it', async () => {
    const { mlp, predictorStrategies } = await import('./index.js')
    expect(tfLoaded()).toBe(false)
    const registry = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
    const bananas = registry.create(
      'bananas',
      {},
      { space: nb201, rng: new Rng(1), objectives: [{ name: 'acc', direction: 'max' }] },
    )
    expect(tfLoaded()).toBe(false)

    const m = mlp({ epochs: 1 })
    let e: unknown
    try {
      m.fitSync([Float32Array.of(0), Float32Array.of(1)], [0, 1])
    } catch (err) {
      e = err
    }
    expect(isNasError(e) && e.code).toBe('BACKEND')
    expect(String(e)).toContain('prepare()')

    await bananas.prepare?.()
    expect(tfLoaded()).toBe(true)
    const fitted = m.fitSync([Float32Array.of(0), Float32Array.of(1)], [0, 1])
    expect(fitted.predict([Float32Array.of(0.5)]).mean).toHaveLength(1)
    fitted.dispose()
  })
})
