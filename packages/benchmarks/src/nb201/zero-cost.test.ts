import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { isNasError, spearmanRho } from '@nasjs/core'
import { nb201Canonical, nb201FromNaslibTuple, nb201ToNaslibTuple, parseNb201 } from '@nasjs/search-space'
import { describe, expect, it, onTestFinished } from 'vitest'

import { nb201FreeFeatures } from './free-features.js'
import { loadNb201 } from '../node/nb201.js'
import { loadNb201ZeroCost, nb201FreeFeatures as nb201FreeFeaturesNode } from '../node/zero-cost.js'
import { NB201_ZC_PROXIES, parseNb201ZeroCost } from './zero-cost.js'
import { thrown } from '../testing-internal/thrown.js'

const bench = loadNb201()
const zc = loadNb201ZeroCost(bench, 'cifar10')
/** A one-row suite table in the CIFAR-10 file's layout. */
const header = `net,net_str,${NB201_ZC_PROXIES.join(',')}`
const row = (arch: string, tuple = nb201ToNaslibTuple(parseNb201(arch))) =>
  `"(${tuple.join(', ')})",${arch},${NB201_ZC_PROXIES.map((_, j) => j + 1).join(',')}`

describe('loadNb201ZeroCost', () => {
  it('reads the suite scores of a canonical cell from the file', () => {
    // The first data row of zc_proxies_cifar10_canonical.csv.gz.
    const i = bench.indexOf(
      '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|',
    )
    expect(zc.columns.epe_nas[i]).toBeCloseTo(1283.2991078420093, 9)
    expect(zc.columns.synflow[i]).toBeCloseTo(44.48481149764257, 9)
    expect(zc.columns.jacov[i]).toBeCloseTo(-88.28987084337544, 9)
    expect(zc.columns.plain[i]).toBeCloseTo(0.03387480974197388, 12)
    expect(zc.suite.flops[i]).toBeCloseTo(19.248832, 9)
    expect(zc.suite.params[i]).toBeCloseTo(0.129306, 9)
    expect(zc.suite.zen[i]).toBeCloseTo(63.38789367675781, 9)
  })

  it('gives every cell the scores of its canonical cell, and a disconnected cell none', () => {
    let variants = 0
    for (let i = 0; i < bench.size; i++) {
      const canonical = nb201Canonical(bench.archAt(i))
      const c = canonical.every((op) => op === 'none') ? -1 : bench.indexOf(canonical)
      if (c !== i) variants++
      const got = NB201_ZC_PROXIES.map((p) => zc.columns[p][i])
      expect(got).toEqual(NB201_ZC_PROXIES.map((p) => (c < 0 ? NaN : zc.columns[p][c])))
    }
    // 15,625 cells, 9,445 canonical ones (one of them the all-none cell, which has no score).
    expect(variants).toBe(bench.size - 9444)
    expect(Array.from(zc.columns.synflow).filter(Number.isNaN)).toHaveLength(341)
  })

  it('ranks cells the way the zero-cost literature reports on CIFAR-10', () => {
    // Spearman rho with validation accuracy over the connected cells: synflow and jacov rank well,
    // `plain` (sum of gradient x weight) ranks backwards (Abdelfattah et al. 2021; Krishnakumar et al. 2022).
    const y = bench.column('cifar10', 'valid_acc')
    const ok = Array.from({ length: bench.size }, (_, i) => i).filter(
      (i) => !Number.isNaN(zc.columns.nwot[i]!),
    )
    const rho = (p: (typeof NB201_ZC_PROXIES)[number]) =>
      spearmanRho(
        ok.map((i) => zc.columns[p][i]!),
        ok.map((i) => y[i]!),
      )
    expect(rho('synflow')).toBeGreaterThan(0.65)
    expect(rho('jacov')).toBeGreaterThan(0.65)
    expect(rho('nwot')).toBeGreaterThan(0.7)
    expect(rho('plain')).toBeLessThan(0)
  })

  it('reads the ImageNet16-120 table, which has no arch_str column', () => {
    const im = loadNb201ZeroCost(bench, 'imagenet16-120')
    expect(im.dataset).toBe('imagenet16-120')
    expect(im.columns.synflow.filter(Number.isFinite).length).toBe(bench.size - 341)
    // The first data row of zc_proxies_imagenet16_120_canonical.csv.gz.
    const i = bench.indexOf(nb201FromNaslibTuple('(4, 0, 3, 1, 4, 3)'))
    expect(im.columns.synflow[i]).toBeCloseTo(46.6285384821636, 9)
    expect(im.columns.jacov[i]).toBeCloseTo(-78.99136879395692, 9)
  })

  it('refuses CIFAR-100, naming the datasets the suite scored', () => {
    const e = thrown(() => loadNb201ZeroCost(bench, 'cifar100'))
    expect(isNasError(e) && e.code).toBe('METRIC_MISSING')
    expect(isNasError(e) && e.allowed).toEqual(['cifar10', 'imagenet16-120'])
  })

  it('says where it looked when the table is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'nasjs-zc-'))
    onTestFinished(() => rmSync(empty, { recursive: true, force: true }))
    const e = thrown(() => loadNb201ZeroCost(bench, 'cifar10', { dataDir: empty }))
    expect(isNasError(e) && e.code).toBe('DATA_MISSING')
    expect(String((e as Error).message)).toContain(join(empty, 'nb201/zc_proxies_cifar10_canonical.csv.gz'))
  })
})

describe('parseNb201ZeroCost', () => {
  const canonical = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|'
  const corrupt = (text: string) => {
    const e = thrown(() => parseNb201ZeroCost(bench, 'cifar10', text, 'zc.csv'))
    expect(isNasError(e) && e.code).toBe('DATA_CORRUPT')
    return String((e as Error).message)
  }

  it('rejects a row whose tuple and arch_str disagree', () => {
    const text = `${header}\n${row(canonical, [0, 0, 0, 0, 0, 0])}\n`
    expect(corrupt(text)).toMatch(/zc\.csv.*row 1: net \(0, 0, 0, 0, 0, 0\) is not/)
  })

  it('rejects a cell that is not canonical', () => {
    const dead = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'
    expect(corrupt(`${header}\n${row(dead)}\n`)).toMatch(/row 1: .* is not a canonical cell/)
  })

  it('rejects a table that lacks a connected cell, naming it', () => {
    expect(corrupt(`${header}\n${row(canonical)}\n`)).toMatch(/no row for canonical cell \|/)
  })

  it('rejects a repeated cell', () => {
    expect(corrupt(`${header}\n${row(canonical)}\n${row(canonical)}\n`)).toMatch(
      /row 2: cell .* appears twice/,
    )
  })
})

describe('nb201FreeFeatures with zero-cost proxies', () => {
  it('adds the suite scores asked for, the lowest score for disconnected cells', () => {
    const free = nb201FreeFeatures(bench, 'cifar10', {
      metrics: ['params', 'synflow', 'jacov'],
      zeroCost: zc,
    })
    expect(free.names).toEqual(['log params', 'synflow', 'jacov'])
    expect(free.of(5).slice(1)).toEqual([zc.columns.synflow[5], zc.columns.jacov[5]])
    const gone = zc.columns.jacov.findIndex(Number.isNaN)
    const lowest = Math.min(...Array.from(zc.columns.jacov).filter(Number.isFinite))
    expect(free.of(gone)[2]).toBe(lowest)
  })

  it('reads the table itself in the node entry, beside the benchmark', () => {
    const free = nb201FreeFeaturesNode(bench, 'cifar10', { metrics: ['params', 'synflow', 'jacov'] })
    expect(free.names).toEqual(['log params', 'synflow', 'jacov'])
    expect(free.of(5).slice(1)).toEqual([zc.columns.synflow[5], zc.columns.jacov[5]])
  })

  it('puts disconnected cells at the bad end of `plain`, whose low scores go with high accuracy', () => {
    const free = nb201FreeFeaturesNode(bench, 'cifar10', { metrics: ['plain'] })
    const gone = zc.columns.plain.findIndex(Number.isNaN)
    expect(free.of(gone)[0]).toBe(Math.max(...Array.from(zc.columns.plain).filter(Number.isFinite)))
  })

  it('refuses a suite proxy on CIFAR-100 when the features are made, not at the first lookup', () => {
    const e = thrown(() => nb201FreeFeaturesNode(bench, 'cifar100', { metrics: ['synflow'] }))
    expect(isNasError(e) && e.code).toBe('METRIC_MISSING')
    const f = thrown(() => nb201FreeFeatures(bench, 'cifar100', { metrics: ['synflow'], zeroCost: zc }))
    expect(isNasError(f) && f.code).toBe('METRIC_MISSING')
  })

  it('asks for the table in the platform-free entry, and refuses one of another dataset', () => {
    const e = thrown(() => nb201FreeFeatures(bench, 'cifar10', { metrics: ['synflow', 'jacov'] }))
    expect(isNasError(e) && e.code).toBe('DATA_MISSING')
    expect(String((e as Error).message)).toMatch(/synflow, jacov .*pass zeroCost/)
    const im = loadNb201ZeroCost(bench, 'imagenet16-120')
    const f = thrown(() => nb201FreeFeatures(bench, 'cifar10', { metrics: ['synflow'], zeroCost: im }))
    expect(isNasError(f) && f.code).toBe('INPUT_INVALID')
    expect(isNasError(f) && f.allowed).toEqual(['cifar10'])
  })
})
