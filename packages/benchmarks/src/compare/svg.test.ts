import { fc, test } from '@fast-check/vitest'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { loadNb201 } from '../node/nb201.js'
import { compareOnNb201 } from './nb201-compare.js'
import { randomSamplingRunner } from './random-runner.js'
import { anytimeSvg, niceTicks } from './svg.js'

describe('anytimeSvg', () => {
  it('draws a mean curve and a std band per strategy, with axes and a legend', async () => {
    const result = await compareOnNb201({
      bench: loadNb201(),
      dataset: 'cifar10',
      budget: 40,
      seeds: 4,
      runners: {
        random: randomSamplingRunner(nb201),
        '<no repeats>': randomSamplingRunner(nb201, { replacement: false }),
      },
      objectives: ['valid_acc:max', 'params:min'],
    })
    const svg = anytimeSvg(result, { title: 'NB201 & CIFAR-10' })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(svg.match(/<polyline /g)!.length).toBe(2)
    expect(svg.match(/<polygon /g)!.length).toBe(2)
    expect(svg).toContain('NB201 &amp; CIFAR-10')
    expect(svg).toContain('&lt;no repeats&gt;')
    expect(svg).toContain('test_acc of incumbent')
    expect(svg).toContain('>queries<')
    // every coordinate is finite
    expect(svg).not.toMatch(/NaN|Infinity/)
    expect(anytimeSvg(result, { curve: 'hypervolume', band: false })).not.toContain('<polygon')
    expect(anytimeSvg(result, { curve: 'regret' })).toContain('regret (test_acc)')
    expect(anytimeSvg(result, { curve: 'coverage' })).toContain('true-front coverage')
  })

  test.prop(
    [fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 1e6, noNaN: true })],
    { examples: [[-999999.9999999999, 0.001]] }, // a counterexample a CI run found
  )('nice ticks lie in range, evenly spaced', (lo, span) => {
    const ticks = niceTicks(lo, lo + span)
    expect(ticks.length).toBeGreaterThanOrEqual(2)
    // Within float rounding of the range: at |lo| = 1e6 one ulp of lo / step times step is about
    // 1e-10 (e.g. lo = -999999.9999999999 gives a tick at -1e6), far below what a plot can show.
    const tol = span * 1e-9 + Math.abs(lo) * 1e-12
    for (const t of ticks) {
      expect(t).toBeGreaterThanOrEqual(lo - tol)
      expect(t).toBeLessThanOrEqual(lo + span + tol)
    }
    const step = ticks[1]! - ticks[0]!
    for (let i = 2; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeCloseTo(step, 6)
  })
})
