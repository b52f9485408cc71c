import ora, { type Ora } from 'ora'
import type { SearchEvent } from '@nasjs/core'

/** Where progress goes: a spinner on a terminal, plain lines in CI/pipes, NDJSON with --json, or nothing. */
export interface ProgressRenderer {
  readonly onEvent: (e: SearchEvent) => void
  /** Prints an informational line without breaking the spinner. */
  info(text: string): void
  stop(): void
}

export interface RenderOptions {
  readonly json: boolean
  readonly quiet: boolean
  readonly stream?: NodeJS.WriteStream
  /** Formats the "best so far" part of a progress line. */
  readonly describeBest?: (e: Extract<SearchEvent, { type: 'progress' }>) => string
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/**
 * Creates a renderer. With `--json`, every event is one NDJSON line on stderr (stdout is kept for
 * the final summary); on a TTY an ora spinner; elsewhere (CI, pipes) a line every few seconds.
 */
export function createRenderer(opts: RenderOptions): ProgressRenderer {
  const stream = opts.stream ?? process.stderr
  if (opts.json) {
    return {
      onEvent: (e) => {
        if (e.type === 'progress' || e.type === 'search-start' || e.type === 'search-end') {
          stream.write(JSON.stringify({ event: e }) + '\n')
        }
      },
      info: () => {},
      stop: () => {},
    }
  }
  if (opts.quiet) return { onEvent: () => {}, info: () => {}, stop: () => {} }
  const interactive = Boolean(stream.isTTY) && !process.env['CI']
  let spinner: Ora | undefined
  let lastLine = 0
  const line = (e: Extract<SearchEvent, { type: 'progress' }>) => {
    const total = e.trialsTotal !== undefined ? `/${e.trialsTotal}` : ''
    const best = opts.describeBest ? opts.describeBest(e) : ''
    return `trial ${e.trialsDone}${total} · ${best}${best ? ' · ' : ''}cache hits ${e.cacheHits} · failed ${e.failed} · ${secs(e.elapsedMs)}`
  }
  return {
    onEvent: (e) => {
      if (e.type === 'search-start') {
        const what = `${e.strategy} on ${e.space} · objectives ${e.objectives.join(', ')}`
        const text = e.resumed ? `resuming ${what} after ${e.trialsDone} trials` : `searching: ${what}`
        if (interactive) spinner = ora({ text, stream }).start()
        else stream.write(text + '\n')
      } else if (e.type === 'progress') {
        if (spinner) spinner.text = line(e)
        else if (
          e.elapsedMs - lastLine >= 2000 ||
          (e.trialsTotal !== undefined && e.trialsDone === e.trialsTotal)
        ) {
          lastLine = e.elapsedMs
          stream.write(line(e) + '\n')
        }
      } else if (e.type === 'search-end') {
        const text = `search ${e.reason === 'budget' ? 'done' : e.reason}: ${e.trialsDone} trials, ${e.cacheHits} cache hits, ${e.failed} failed, ${secs(e.elapsedMs)}`
        if (spinner) {
          if (e.reason === 'budget' || e.reason === 'exhausted') spinner.succeed(text)
          else spinner.warn(text)
          spinner = undefined
        } else stream.write(text + '\n')
      }
    },
    info: (text) => {
      if (spinner) {
        spinner.clear()
        stream.write(text + '\n')
        spinner.render()
      } else stream.write(text + '\n')
    },
    stop: () => {
      spinner?.stop()
      spinner = undefined
    },
  }
}
