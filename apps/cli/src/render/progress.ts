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
  /**
   * Training searches: the epochs of a full trial. The line then shows the epoch of the trial in
   * training, the images/s it trains at, and an ETA from this session's pace in epochs.
   */
  readonly epochs?: number
  /** Formats the "best so far" part of a progress line. */
  readonly describeBest?: (e: Extract<SearchEvent, { type: 'progress' }>) => string
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/** A duration for people: 45s, 12m05s, 2h03m. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

/**
 * Progress of a training search in epochs: the epoch each trial in flight has reached, images/s,
 * and an ETA from the epochs done since this session started (a resumed run's earlier trials took
 * no time here). A trial counts `fidelity` epochs when a strategy gives one, else `epochs`.
 */
export function trainingPace(epochs: number, now: () => number = Date.now) {
  const inFlight = new Map<number, { epochs: number; done: number }>()
  let doneEpochs = 0
  let finished = 0
  let started: number | undefined
  let imagesPerS: number | undefined
  let lastTrial: number | undefined
  return {
    onEvent(e: SearchEvent): void {
      if (e.type === 'search-start') {
        started = now()
      } else if (e.type === 'trial-start') {
        inFlight.set(e.trial, { epochs: e.fidelity ?? epochs, done: 0 })
      } else if (e.type === 'trial-report') {
        const t = inFlight.get(e.trial)
        if (t !== undefined) t.done = e.step
        lastTrial = e.trial
        const speed = e.metrics['images_per_s']
        if (speed !== undefined) imagesPerS = speed
      } else if (e.type === 'trial-end') {
        const t = inFlight.get(e.trial)
        inFlight.delete(e.trial)
        if (t !== undefined && !e.cached) {
          doneEpochs += t.epochs
          finished++
        }
      }
    },
    /** `trial 4 epoch 2/3 · 410 img/s · ETA 4m10s`, or what is known of it. */
    describe(trialsDone: number, trialsTotal: number | undefined): string {
      const parts: string[] = []
      const shownId = lastTrial !== undefined && inFlight.has(lastTrial) ? lastTrial : [...inFlight.keys()][0]
      const shown = shownId === undefined ? undefined : inFlight.get(shownId)
      if (shown !== undefined)
        parts.push(
          `trial ${shownId} epoch ${Math.min(shown.done + 1, shown.epochs)}/${shown.epochs}${inFlight.size > 1 ? ` (+${inFlight.size - 1} training)` : ''}`,
        )
      if (imagesPerS !== undefined) parts.push(`${Math.round(imagesPerS)} img/s`)
      const spent = started === undefined ? 0 : now() - started
      let flying = 0
      for (const t of inFlight.values()) flying += t.done
      const done = doneEpochs + flying
      if (trialsTotal !== undefined && done > 0 && spent > 0) {
        const remainingTrials = Math.max(0, trialsTotal - trialsDone)
        // a trial costs what the finished ones cost on average (multi-fidelity strategies train fewer epochs)
        const perTrial = finished > 0 ? doneEpochs / finished : epochs
        const remaining = Math.max(0, remainingTrials * perTrial - flying)
        parts.push(`ETA ${duration((spent / done) * remaining)}`)
      } else if (trialsTotal !== undefined && trialsDone < trialsTotal)
        parts.push('ETA after the first epoch')
      return parts.join(' · ')
    },
  }
}

/**
 * Creates a renderer. With `--json`, every event is one NDJSON line on stderr (stdout is kept for
 * the final summary); on a TTY an ora spinner; elsewhere (CI, pipes) a line every few seconds.
 */
export function createRenderer(opts: RenderOptions): ProgressRenderer {
  const stream = opts.stream ?? process.stderr
  if (opts.json) {
    return {
      onEvent: (e) => {
        if (
          e.type === 'progress' ||
          e.type === 'search-start' ||
          e.type === 'search-end' ||
          (e.type === 'trial-report' && opts.epochs !== undefined)
        ) {
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
  let lastReportLine = 0
  const pace = opts.epochs === undefined ? undefined : trainingPace(opts.epochs)
  let last: Extract<SearchEvent, { type: 'progress' }> | undefined
  const line = (e: Extract<SearchEvent, { type: 'progress' }>) => {
    const total = e.trialsTotal !== undefined ? `/${e.trialsTotal}` : ''
    const best = opts.describeBest ? opts.describeBest(e) : ''
    const training = pace?.describe(e.trialsDone, e.trialsTotal)
    const head = pace === undefined ? `trial ${e.trialsDone}${total}` : `done ${e.trialsDone}${total}`
    return `${head} · ${training ? `${training} · ` : ''}${best}${best ? ' · ' : ''}cache hits ${e.cacheHits} · failed ${e.failed} · ${secs(e.elapsedMs)}`
  }
  return {
    onEvent: (e) => {
      pace?.onEvent(e)
      if (e.type === 'progress') last = e
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
      } else if (e.type === 'trial-report' && pace !== undefined && last !== undefined) {
        // a training search moves on every epoch, not only when a trial ends
        const now = { ...last, elapsedMs: last.elapsedMs }
        if (spinner) spinner.text = line(now)
        else if (Date.now() - lastReportLine >= 2000) {
          lastReportLine = Date.now()
          stream.write(line(now) + '\n')
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
