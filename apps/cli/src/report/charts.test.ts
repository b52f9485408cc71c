import { describe, expect, it } from 'vitest'
import { escapeXml, lineChart, scatterChart } from './charts.js'

describe('charts', () => {
  it('escapes text', () => {
    expect(escapeXml('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;')
  })

  it('draws a step line chart with a legend and axis labels', () => {
    const svg = lineChart({
      title: 'best',
      xLabel: 'trial',
      yLabel: 'valid_acc',
      series: [
        {
          name: 'rea <1>',
          points: [
            [1, 80],
            [2, 85],
            [3, 91],
          ],
        },
      ],
      step: true,
    })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('rea &lt;1&gt;')
    expect(svg).toMatch(/<path d="M[\d.]+,[\d.]+H[\d.]+V[\d.]+H[\d.]+V[\d.]+"/)
    expect(svg).toContain('>trial<')
  })

  it('draws one circle per finite point and joins a connected group', () => {
    const svg = scatterChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      groups: [
        {
          name: 'all',
          points: [
            { x: 1, y: 2 },
            { x: Number.NaN, y: 1 },
            { x: 3, y: 4 },
          ],
        },
        {
          name: 'front',
          points: [
            { x: 1, y: 2, label: 'arch' },
            { x: 2, y: 3 },
          ],
          connect: true,
        },
      ],
    })
    expect(svg.match(/<circle/g)).toHaveLength(4)
    expect(svg).toContain('<title>arch</title>')
    expect(svg).toContain('stroke-dasharray')
  })
})
