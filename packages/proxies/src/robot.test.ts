import { Rng, isNasError } from '@nasjs/core'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
import { describe, expect, it } from 'vitest'
import { proxyFeatures, robotStrategy } from './robot.js'

const registry = createStrategyRegistry([...builtinStrategies, robotStrategy])
const bench = loadNb201()
const zc = loadNb201ZeroCost(bench, 'cifar10')
const six = ['grad_norm', 'snip', 'grasp', 'fisher', 'synflow', 'jacov']
const features = proxyFeatures<Nb201Arch>({ ...zc.columns, ...zc.suite }, (a) => bench.indexOf(a), six) as (
  a: unknown,
) => number[]
const evaluator = (a: unknown) => Promise.resolve({ ...bench.query(a as Nb201Arch, 'cifar10') })
const create = (seed: number) =>
  registry.create(
    'robot',
    {},
    { space: nb201, rng: new Rng(seed), objectives: [{ name: 'valid_acc', direction: 'max' }], features },
  )

describe('robot', () => {
  it('with the published proxies finds a top NB201 cell in 20 queries (golden for seed 1)', async () => {
    const r = await runSearch({
      space: nb201,
      strategy: create(1),
      evaluator,
      objectives: ['valid_acc:max'],
      budget: { evaluations: 20 },
      seed: 1,
    })
    expect(r.evaluations).toBe(20)
    const test = bench.query(r.best!.arch, 'cifar10').test_acc!
    expect(test).toBeGreaterThan(94)
    expect(nb201.format(r.best!.arch)).toMatchInlineSnapshot(
      `"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"`,
    )
  })

  it('never proposes an architecture twice, and a snapshot restored mid-run proposes what the original does', async () => {
    const a = create(3)
    const seen = new Set<string>()
    const step = async (s: ReturnType<typeof create>) => {
      const [p] = s.ask(1)
      const key = nb201.format(p!.arch)
      expect(seen.has(key)).toBe(false)
      seen.add(key)
      s.tell(p!.id, { status: 'complete', metrics: await evaluator(p!.arch) })
      return key
    }
    for (let t = 0; t < 12; t++) await step(a)
    const b = create(3)
    b.restore(JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<typeof a.snapshot>)
    expect(nb201.format(b.ask(1)[0]!.arch)).toBe(nb201.format(a.ask(1)[0]!.arch))
    const c = create(3)
    c.restore(JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<typeof a.snapshot>)
    for (let t = 0; t < 12; t++) await step(c)
  })

  it('needs proxy scores as features', () => {
    let e: unknown
    try {
      registry.create(
        'robot',
        {},
        { space: nb201, rng: new Rng(1), objectives: [{ name: 'valid_acc', direction: 'max' }] },
      )
    } catch (err) {
      e = err
    }
    expect(isNasError(e) && e.code === 'CONFIG_INVALID' && /features/.test(e.message)).toBe(true)
    expect(() => proxyFeatures({ ...zc.columns }, (a: Nb201Arch) => bench.indexOf(a), ['synflowz'])).toThrow(
      /synflowz/,
    )
  })
})
