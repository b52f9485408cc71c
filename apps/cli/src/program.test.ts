import { describe, expect, it } from 'vitest'
import type { Io } from './context.js'
import { buildProgram } from './program.js'

function capture(): { io: Io; text: () => string } {
  const chunks: string[] = []
  const err = { write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream
  return { io: { out: (s) => chunks.push(s + '\n'), err }, text: () => chunks.join('') }
}

async function help(args: string[]): Promise<string> {
  const c = capture()
  await expect(buildProgram(c.io).parseAsync(['node', 'nas', ...args])).rejects.toMatchObject({
    code: 'commander.helpDisplayed',
  })
  return c.text()
}

describe('nas --help', () => {
  it('lists every command', async () => {
    expect(await help(['--help'])).toMatchInlineSnapshot(`
      "Usage: nas [options] [command]

      nasjs: neural architecture search from the terminal

      Options:
        -v, --version                  output the version number
        -h, --help                     display help for command

      Commands:
        search [options]               run a search on a benchmark (or by training on
                                       data, or on zero-cost proxies) and write
                                       trials.jsonl, summary.json, pareto.csv and
                                       report.html
        train [options]                train one architecture on data, report its
                                       accuracy, and save it as model.json + weights
        compare [options]              compare strategies on a benchmark over seeds
                                       (incumbent by valid_acc, reported by test_acc)
        proxies                        zero-cost proxies: score untrained networks
                                       from one minibatch
        hardware                       latency, memory and size on the TF.js runtime;
                                       latency lookup tables; the HELP latency
                                       predictor
        supernet                       train a weight-sharing supernet (Once-for-All,
                                       BigNAS), search its subnets, export one as a
                                       standalone model
        oneshot [options]              differentiable one-shot cell search (DARTS,
                                       PC-DARTS, GDAS, ProxylessNAS, DARTS-PT, RARTS,
                                       SD-DARTS, sharpDARTS, few-shot NAS) on the
                                       NB201 space: train a mixed-operation supernet,
                                       read the cell off its architecture weights;
                                       resumable
        quantize [options]             post-training quantization of a saved model
                                       (nas train --save): accuracy after
                                       quantization, and an export with TF.js weight
                                       quantization (uint8, uint16, float16)
        spaces [options]               list the built-in search spaces, or show one
        strategies [options] [name]    list the strategies with their config fields
                                       and defaults (for nas search --config)
        arch [options] <space> <arch>  parse an architecture: canonical form, hash,
                                       encodings and all benchmark metrics
        report [options] <dir>         rebuild summary.json, pareto.csv and
                                       report.html of a run from its journal
        help [command]                 display help for command
      "
    `)
  })

  it('documents search options, defaults and examples', async () => {
    const text = await help(['search', '--help'])
    for (const flag of [
      '--space',
      '--dataset',
      '--strategy',
      '--budget',
      '--seed',
      '--objective',
      '--constraint',
      '--config',
      '--out',
      '--resume',
      '--json',
      '--cache',
    ]) {
      expect(text).toContain(flag)
    }
    expect(text).toContain('(default: "nsga2")')
    expect(text).toContain('bananas')
    expect(text).toContain('Examples:')
  })
})

describe('nas --version', () => {
  it('prints the version of the package.json', async () => {
    const { readFileSync } = await import('node:fs')
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    const c = capture()
    await expect(buildProgram(c.io).parseAsync(['node', 'nas', '--version'])).rejects.toMatchObject({
      code: 'commander.version',
    })
    expect(c.text().trim()).toBe(pkg.version)
  })
})

describe('reportError', () => {
  it('names a wasm abort (a full heap) as a BACKEND error with what to change, not an internal one', async () => {
    const { reportError } = await import('./errors.js')
    const r = reportError(new Error('Aborted(). Build with -sASSERTIONS for more info.'))
    expect(r.text).toContain('nas: error [BACKEND]')
    expect(r.text).toContain('--batch-size')
    expect(r.json).toMatchObject({ ok: false, error: { code: 'BACKEND' } })
    expect(reportError(new Error('boom')).text).toContain('internal error')
  })
})
