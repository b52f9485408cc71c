import { NasError, Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { PREDICTOR_KINDS, PredictorConfig, createPredictor } from './registry.js'
import { syntheticBinary, tau } from './testing-internal/synthetic.js'

const small: Record<(typeof PREDICTOR_KINDS)[number], Parameters<typeof createPredictor>[0]> = {
  ridge: { kind: 'ridge' },
  'bayesian-linear': { kind: 'bayesian-linear' },
  gp: { kind: 'gp', restarts: 1 },
  'random-forest': { kind: 'random-forest', nTrees: 30 },
  'gradient-boosting': { kind: 'gradient-boosting', nEstimators: 60 },
  mlp: { kind: 'mlp', epochs: 60, hiddenLayers: [16] },
  'mlp-ensemble': { kind: 'mlp-ensemble', members: 2, mlp: { epochs: 40, hiddenLayers: [16] } },
  average: {
    kind: 'average',
    members: [
      { kind: 'random-forest', nTrees: 30 },
      { kind: 'gradient-boosting', nEstimators: 60 },
    ],
  },
}

const expectNasError = async (p: Promise<unknown> | (() => unknown), code: string, text: RegExp) => {
  const run = typeof p === 'function' ? Promise.resolve().then(p) : p
  const e: unknown = await run.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(NasError)
  expect((e as NasError).code).toBe(code)
  expect((e as NasError).message).toMatch(text)
}

describe.each(PREDICTOR_KINDS)('the %s predictor contract', (kind) => {
  const { X, y } = syntheticBinary(80, 8, 1)
  const test = syntheticBinary(200, 8, 2)

  it('fits, ranks held-out data and keeps the predictor unchanged', async () => {
    const p = createPredictor(small[kind])
    const fitted = await p.fit(X, y, { rng: new Rng(3) })
    const pred = fitted.predict(test.X)
    expect(pred.mean).toHaveLength(200)
    expect(tau(pred.mean, test.y)).toBeGreaterThan(0.6)
    const std = pred.std ?? []
    expect(std.length).toBe(p.requirements.uncertainty ? 200 : 0)
    expect(Array.from(std).every((s) => s >= 0 && Number.isFinite(s))).toBe(true)
    expect(fitted.nFeatures).toBe(8)
    fitted.dispose()
    // a second fit with the same rng gives the same model
    const a = await p.fit(X, y, { rng: new Rng(9) })
    const b = await p.fit(X, y, { rng: new Rng(9) })
    expect(Array.from(a.predict(test.X.slice(0, 5)).mean)).toEqual(
      Array.from(b.predict(test.X.slice(0, 5)).mean),
    )
    a.dispose()
    b.dispose()
  })

  it('rejects bad input with a NasError', async () => {
    const p = createPredictor(small[kind])
    await expectNasError(p.fit(X, y.slice(1)), 'INPUT_INVALID', /X has 80 rows but y has 79 targets/)
    await expectNasError(p.fit(X, [...y.slice(0, 79), Number.NaN]), 'INPUT_INVALID', /y\[79\] is NaN/)
    await expectNasError(p.fit([[1, 2], [3]], [1, 2]), 'INPUT_INVALID', /X\[1\] has 1 features; expected 2/)
    await expectNasError(
      p.fit(
        [
          [1, Number.POSITIVE_INFINITY],
          [3, 4],
        ],
        [1, 2],
      ),
      'INPUT_INVALID',
      /X\[0\]\[1\] is Infinity/,
    )
    await expectNasError(p.fit([], []), 'INPUT_INVALID', /needs at least 2 training architectures/)
    await expectNasError(() => p.predict(X), 'NOT_FITTED', /not fitted/)
    const fitted = await p.fit(X, y)
    await expectNasError(() => fitted.predict([[1, 2, 3]]), 'INPUT_INVALID', /has 3 features; expected 8/)
    fitted.dispose()
    await expectNasError(() => fitted.predict(X), 'NOT_FITTED', /disposed/)
  })
})

describe('createPredictor', () => {
  it('rejects unknown kinds and bad configs with a NasError', async () => {
    await expectNasError(
      () => createPredictor({ kind: 'xgboost' } as never),
      'NOT_REGISTERED',
      /unknown predictor kind 'xgboost'; expected one of ridge/,
    )
    await expectNasError(
      () => createPredictor({ kind: 'random-forest', nTrees: 0 }),
      'CONFIG_INVALID',
      /nTrees/,
    )
    await expectNasError(
      () => createPredictor({ kind: 'ridge', alpha: -1 } as never),
      'CONFIG_INVALID',
      /alpha/,
    )
  })

  it('fills defaults from the schema', () => {
    expect(PredictorConfig.parse({ kind: 'mlp-ensemble' })).toMatchObject({
      members: 5,
      mlp: { epochs: 200 },
    })
    expect(PredictorConfig.parse({ kind: 'gp' })).toMatchObject({ kernel: 'matern52', ard: false })
  })
})
