import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { ofaMbv3 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportArtifacts } from './export.js'
import type { OfaMbv3NetworkOptions } from './ofa-mbv3.js'
import { buildOfaMbv3, ofaMbv3Cost, ofaMbv3Network } from './ofa-mbv3.js'
import { codeOf, maxDiff, trainableCount } from './testing-internal/model-checks.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** An architecture from its OFA dict digits (`ks` and `e`: 20 digits, `d`: 5). */
const ofa = (ks: string, e: string, d: string, r = 224) =>
  ofaMbv3.parse(
    JSON.stringify({ ks: [...ks].map(Number), e: [...e].map(Number), d: [...d].map(Number), r: [r] }),
  )

const uniform = (k: number, e: number, d: number) =>
  ofa(String(k).repeat(20), String(e).repeat(20), String(d).repeat(5))

/**
 * OFA's counter (`count_net_flops`) leaves biases out: the classifier's and, in each block with
 * squeeze-and-excitation, the reduce and expand 1x1 convolutions'.
 */
function biasFlops(arch: ReturnType<typeof ofa>, options: OfaMbv3NetworkOptions = {}): number {
  const net = ofaMbv3Network(arch, options)
  return net.layers.reduce((s, l) => s + (l.kind === 'mbconv' && l.se > 0 ? l.se + l.mid : 0), net.classes)
}

/**
 * OFA's 34 MobileNetV3 specialized networks (mit-han-lab/once-for-all README, `ofa_specialized`; the
 * net.config and run.config files of han-cai/files, ofa/ofa_specialized/): name, width, resolution,
 * ks, e, d (the OFA arch dict's digits); the parameters and MACs of that network built by the OFA
 * code (`MobileNetV3.build_from_config`, `count_parameters`, MACs by OFA's counter rule summed exactly:
 * its `profile` sums in float32, which is off by up to 64 above 2^29); the README's #Params (M) and
 * #MACs (M).
 */
const SPECIALIZED = `
name           w   res ks                   e                    d     params    MACs      README
ofa-lg-11      1   156 33335373533353535753 33333443433344336643 23233 4965160 103373272 5.0 103
ofa-lg-16      1   176 33337533555337535733 33334333643344336664 23334 5809576 151108528 5.8 151
ofa-lg-24      1   220 33337533555337535733 33334333643344336664 23334 5809576 229846296 5.8 230
ofa-lg-8       1   144 33335533533337333733 33334333333364336433 22322 4112176  73471032 4.1 74
ofa-389M       1.2 224 33335533553355333373 33333633443364446663 23344 8386544 389487856 8.4 389
ofa-482M       1.2 224 53335353553357357333 33334443463366646663 34444 9066368 482413168 9.1 482
ofa-595M       1.2 236 35335535753535733353 34334463663466646663 34444 9135928 595189032 9.1 595
ofa-note10-11  1   176 33335333533333333553 33334433443343334443 22233 4278224 109607488 4.3 110
ofa-note10-16  1   192 33335533553355333753 33333443443344336443 24334 4932272 162464384 4.9 163
ofa-note10-22  1   224 33335333755353333333 33333443444346436663 23334 5863056 237063424 5.9 237
ofa-note10-30  1.2 224 33335333553333333333 33334343443364436643 23334 7465896 339352816 7.5 339
ofa-note10-41  1.2 220 33337333733335333333 34334463663466646663 23444 9030192 457252856 9.0 457
ofa-note10-50  1.2 220 53335335773575333333 36634663664466666663 34443 9057064 554390264 9.1 554
ofa-note10-64  1.2 260 33335335553753333353 36334633664466646663 34444 9109040 743131000 9.1 743
ofa-note10-08  1   160 33333333333333333533 33333433433334334433 22322 3761168  75802880 3.8 79
ofa-note8-22   1   140 33335533733353333733 33333333433334336633 22222 4304592  67196888 4.3 67
ofa-note8-31   1   152 53335533335335733355 33334333444343436333 22334 4595536 100520248 4.6 101
ofa-note8-49   1   176 53335373773333333535 34334443434346436664 23334 6024176 163703024 6.0 164
ofa-note8-65   1   204 73333533733353335553 33334433664366436443 23334 5296672 219899816 5.3 220
ofa-pixel1-132 1.2 228 53335535753555553353 36334663666466646663 24444 9225040 592737144 9.2 593
ofa-pixel1-143 1.2 240 53335535753353533353 36336663666466646663 34444 9221888 641756192 9.2 642
ofa-pixel1-20  1   152 33335533733353333733 33333333433334336633 22222 4304592  76664384 4.3 77
ofa-pixel1-28  1   160 33337333733335333333 34333643363364336436 23224 5196680 108572320 5.2 109
ofa-pixel1-40  1   172 53335373773333333535 34334443434346436664 23334 6024176 162265088 6.0 162
ofa-pixel1-58  1   220 33337533555337535733 33334333643344336664 23334 5809576 229846296 5.8 230
ofa-pixel1-79  1.2 224 33335333753353333333 33333433443364436663 22344 8168608 355469648 8.2 356
ofa-pixel2-25  1   144 33335533733377335333 33336433433343436433 22232 4137152  79266240 4.1 79
ofa-pixel2-35  1   160 33333333773353377775 33333463443343334633 23244 5060264 113041536 5.1 113
ofa-pixel2-50  1   208 33333333353357333575 34333333363364336343 22224 4687720 165999448 4.7 166
ofa-pixel2-62  1   208 33337533555337535733 33334333643344336664 23334 5809576 207945168 5.8 208
ofa-s7edge-29  1   144 33335333533355333533 33333433443344336333 22222 3830224  66444032 3.8 66
ofa-s7edge-41  1   160 33335333753333333533 33333433443344336433 22234 4663872  95935136 4.7 96
ofa-s7edge-58  1   192 33335333753333333553 33333433434344336443 22433 4623312 144701952 4.6 145
ofa-s7edge-88  1   192 53335333755355353733 34336643463366446664 23344 6426992 219276928 6.4 219
`
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [name, w, res, ks, e, d, params, macs, readmeParams, readmeMacs] = line.split(/\s+/) as [
      string,
      ...string[],
    ]
    return {
      name,
      widthMult: Number(w) as 1 | 1.2,
      res: Number(res),
      arch: ofa(ks!, e!, d!, Math.min(Number(res), 224)),
      params: Number(params),
      macs: Number(macs),
      readmeParams: readmeParams!,
      readmeMacs: Number(readmeMacs),
    }
  })

describe('ofaMbv3Cost: exact counts, checked against the OFA code', () => {
  it('equals the OFA code for its largest and smallest subnets (ofa_mbv3_d234_e346_k357_w1.0 and _w1.2, 224 pixels)', () => {
    // OFAMobileNetV3(width_mult=w).set_active_subnet(ks, e, d).get_active_subnet(): count_parameters and
    // MACs summed exactly (OFA's float32 count_net_flops prints 566170688, 121278672, 843101056, 193078208)
    const cases: [1 | 1.2, number, number, number, number, number][] = [
      [1, 7, 6, 4, 7_664_760, 566_170_656],
      [1, 3, 3, 2, 3_410_792, 121_278_672],
      [1.2, 7, 6, 4, 10_701_632, 843_101_040],
      [1.2, 3, 3, 2, 4_602_456, 193_078_200],
    ]
    for (const [widthMult, k, e, d, params, macs] of cases) {
      const arch = uniform(k, e, d)
      const c = ofaMbv3Cost(arch, { widthMult })
      expect(c.params, `w${widthMult} k${k} e${e} d${d}`).toBe(params)
      expect(c.flops - biasFlops(arch, { widthMult }), `w${widthMult} k${k} e${e} d${d}`).toBe(macs)
    }
    expect(ofaMbv3Cost(uniform(7, 6, 4))).toEqual({ params: 7_664_760, flops: 566_180_312 })
  })

  it('equals the OFA code for its 34 MobileNetV3 specialized networks, and the README for 30 of them', () => {
    const offReadme: string[] = []
    for (const { name, widthMult, res, arch, params, macs, readmeParams, readmeMacs } of SPECIALIZED) {
      // 236, 240 and 260 pixels are outside the space (128-224): the input shape gives the resolution
      const options = { widthMult, inputShape: [res, res, 3] as [number, number, number] }
      const c = ofaMbv3Cost(arch, options)
      expect(c.params, name).toBe(params)
      expect(c.flops - biasFlops(arch, options), name).toBe(macs)
      expect((c.params / 1e6).toFixed(1), name).toBe(readmeParams)
      if (Math.round(macs / 1e6) !== readmeMacs) offReadme.push(`${name} ${(macs / 1e6).toFixed(2)}`)
    }
    expect(SPECIALIZED).toHaveLength(34)
    // the README prints 0.5 to 3.2 M more MACs for these four than their configs give (OFA's code agrees with us)
    expect(offReadme).toEqual([
      'ofa-lg-8 73.47',
      'ofa-note10-16 162.46',
      'ofa-note10-08 75.80',
      'ofa-pixel1-79 355.47',
    ])
  })

  it('counts FLOPs at the input resolution and parameters independently of it', () => {
    const arch = ofaMbv3.sample(new Rng(4))
    const at = (r: number) => ofaMbv3Cost(arch, { inputShape: [r, r, 3] })
    expect(at(128).params).toBe(at(224).params)
    expect(at(224).flops).toBeGreaterThan(at(128).flops)
    expect(ofaMbv3Cost(arch).flops).toBe(at(arch.resolution).flops)
  })
})

describe('buildOfaMbv3', () => {
  it('builds networks whose trainable weights equal the analytic count (8 random subnets, both widths)', () => {
    const rng = new Rng(7)
    for (let i = 0; i < 8; i++) {
      const arch = ofaMbv3.sample(rng)
      const options: OfaMbv3NetworkOptions = {
        widthMult: i % 2 === 0 ? 1 : 1.2,
        inputShape: [32, 32, 3],
        classes: 10,
      }
      const model = buildOfaMbv3(arch, options)
      expect(trainableCount(model), ofaMbv3.format(arch)).toBe(ofaMbv3Cost(arch, options).params)
      expect(model.outputs[0]!.shape).toEqual([null, 10])
      model.dispose()
    }
  })

  it("takes the architecture's resolution as the input size by default", () => {
    const arch = { ...uniform(3, 3, 2), resolution: 160 }
    const model = buildOfaMbv3(arch, { classes: 10 })
    expect(model.inputs[0]!.shape).toEqual([null, 160, 160, 3])
    model.dispose()
  })

  it('runs forward without leaking tensors; only standard TF.js layers', async () => {
    const model = buildOfaMbv3(ofaMbv3.sample(new Rng(2)), { inputShape: [32, 32, 3], classes: 10 })
    expect(model.layers.filter((l) => l.getClassName().startsWith('Nas'))).toEqual([])
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1)
    // the first two runs grow the wasm heap to its working size (it never shrinks)
    for (let i = 0; i < 2; i++) tf.tidy(() => model.predict(x))
    await expectNoLeaks(() => {
      for (let i = 0; i < 3; i++)
        tf.tidy(() => {
          const y = model.predict(x) as tf.Tensor
          expect(y.shape).toEqual([2, 10])
          expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true)
        })
    })
    x.dispose()
    model.dispose()
  })

  it('h-swish and the hard sigmoid are relu6(x + 3) / 6 (times x)', () => {
    const model = buildOfaMbv3(uniform(3, 3, 2), { inputShape: [8, 8, 3], classes: 2 })
    // the stem's activation: Rescaling -> ReLU(max 1) -> Multiply with its input
    const rescale = model.layers.find((l) => l.getClassName() === 'Rescaling')!
    const clip = model.layers.find((l) => l.getClassName() === 'ReLU' && l.getConfig().maxValue === 1)!
    const v = [-5, -3, -1, 0, 0.5, 2, 3, 7]
    const x = tf.tensor1d(v)
    const y = tf.tidy(() => Array.from((clip.apply(rescale.apply(x)) as tf.Tensor).dataSync()))
    v.forEach((t, i) => expect(y[i]).toBeCloseTo(Math.min(Math.max(t + 3, 0), 6) / 6, 6))
    x.dispose()
    model.dispose()
  })

  it('saves and loads back, and exports for plain TF.js, with equal outputs', async () => {
    const model = buildOfaMbv3(ofaMbv3.sample(new Rng(9)), {
      widthMult: 1.2,
      inputShape: [24, 24, 3],
      classes: 5,
      seed: 3,
    })
    let saved: tf.io.ModelArtifacts | undefined
    await model.save(
      tf.io.withSaveHandler(
        (a) => (
          (saved = a),
          Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })
        ),
      ),
    )
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!))
    const exported = await tfl.loadLayersModel(tf.io.fromMemory(await exportArtifacts(model)))
    const x = tf.randomNormal([3, 24, 24, 3], 0, 1, 'float32', 2)
    const [a, b, c] = tf.tidy(() => [model, loaded, exported].map((m) => m.predict(x) as tf.Tensor))
    expect(maxDiff(a!, b!)).toBeLessThan(1e-5)
    expect(maxDiff(a!, c!)).toBeLessThan(1e-5)
    tf.dispose([x, a!, b!, c!])
    for (const m of [model, loaded, exported]) m.dispose()
  })

  it('same seed, same weights; another seed, other weights', () => {
    const arch = uniform(3, 3, 2)
    const w = (seed: number) => {
      const m = buildOfaMbv3(arch, { inputShape: [8, 8, 3], classes: 2, seed })
      const v = Array.from(m.getWeights()[0]!.dataSync())
      m.dispose()
      return v
    }
    expect(w(1)).toEqual(w(1))
    expect(w(2)).not.toEqual(w(1))
  })

  it('bad input is one NasError with a code', () => {
    const arch = uniform(3, 3, 2)
    expect(codeOf(() => buildOfaMbv3({ ...arch, resolution: 130 }))).toBe('ARCH_INVALID')
    expect(codeOf(() => ofaMbv3Cost({ ...arch, stages: arch.stages.slice(0, 4) } as never))).toBe(
      'ARCH_INVALID',
    )
    for (const bad of [
      { widthMult: 1.1 },
      { classes: 1 },
      { inputShape: [32, 32] },
      { dropout: 1 },
      { seed: 0.5 },
      { width: 1 },
    ]) {
      expect(
        codeOf(() => buildOfaMbv3(arch, bad as never)),
        JSON.stringify(bad),
      ).toBe('CONFIG_INVALID')
      expect(
        codeOf(() => ofaMbv3Cost(arch, bad as never)),
        JSON.stringify(bad),
      ).toBe('CONFIG_INVALID')
    }
  })
})
