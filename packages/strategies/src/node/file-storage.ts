import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import { NasError } from '@nasjs/core'
import type { TrialOutcome } from '@nasjs/core'
import type { StrategyState } from '../types.js'

/**
 * The version written in every journal record; readers reject other versions.
 * @since 0.1.0
 */
export const JOURNAL_VERSION = 1

/**
 * The first record of a journal: what the study is. Resuming checks it against the new run.
 * @since 0.1.0
 */
export interface JournalHeader {
  readonly v: 1
  readonly type: 'header'
  /** A name for the study (default: the file name). */
  readonly study: string
  /** ISO time of creation. */
  readonly created: string
  readonly space: string
  readonly strategy: { readonly name: string; readonly config: unknown }
  /** `name:direction` strings. */
  readonly objectives: readonly string[]
  /** `metric<=bound` strings. */
  readonly constraints: readonly string[]
  readonly seed: number
  readonly budget: {
    readonly trials?: number
    readonly evaluations?: number
    readonly seconds?: number
    readonly cost?: number
  }
  /** The result cache mode (`functional`, `exact` or `off`). */
  readonly cache?: 'functional' | 'exact' | 'off'
}

/**
 * One line of a journal (JSON Lines, one record per line, each flushed with its own `write`).
 * @since 0.1.0
 */
export type JournalRecord =
  | JournalHeader
  /** The strategy proposed trial `trial` (written before it is evaluated). */
  | {
      readonly v: 1
      readonly type: 'ask'
      readonly trial: number
      readonly arch: unknown
      readonly hash: string
      readonly fidelity?: number
    }
  /** Trial `trial` ended; `cached` when the functional-hash cache answered it. */
  | {
      readonly v: 1
      readonly type: 'tell'
      readonly trial: number
      readonly outcome: TrialOutcome
      readonly cached: boolean
      readonly durationMs: number
      /** Search time so far (all sessions), for wall-time budgets across resumes. */
      readonly elapsedMs: number
      /** What the trial counts towards a cost budget. */
      readonly cost: number
      /** A cheap constraint was violated, so the evaluator never ran. */
      readonly skipped?: true
    }
  /** The strategy's complete state after the preceding records (`Strategy.snapshot()`). */
  | { readonly v: 1; readonly type: 'snapshot'; readonly trials: number; readonly state: StrategyState }
  /** A session resumed the journal. */
  | { readonly v: 1; readonly type: 'resume'; readonly at: string; readonly trialsDone: number }
  /** A session ended (the search may be resumed with a larger budget). */
  | {
      readonly v: 1
      readonly type: 'end'
      readonly reason: string
      readonly trialsDone: number
      readonly elapsedMs: number
    }

/**
 * A parsed journal.
 * @since 0.1.0
 */
export interface JournalContents {
  readonly header: JournalHeader
  /** Every record after the header, in order. */
  readonly records: readonly Exclude<JournalRecord, JournalHeader>[]
  /** Byte length of the complete lines (a torn last line, from a crash mid-write, is not included). */
  readonly validBytes: number
  /** True when the last line was incomplete and is ignored. */
  readonly tornTail: boolean
}

const TYPES = new Set(['header', 'ask', 'tell', 'snapshot', 'resume', 'end'])

/**
 * Reads a journal. A last line without its newline (a crash while writing) is ignored; any other
 * malformed line is a `JOURNAL` NasError naming the file and line.
 * @since 0.1.0
 * @category journal
 */
export function readJournal(path: string): JournalContents {
  let buf: Buffer
  try {
    buf = readFileSync(path)
  } catch (cause) {
    throw new NasError({ code: 'IO', message: `cannot read journal ${path}`, path: [path], cause })
  }
  const text = buf.toString('utf8')
  const lastNl = text.lastIndexOf('\n')
  const complete = lastNl < 0 ? '' : text.slice(0, lastNl)
  const tornTail = lastNl !== text.length - 1
  const lines = complete.length === 0 ? [] : complete.split('\n')
  const out: JournalRecord[] = []
  lines.forEach((line, i) => {
    let rec: unknown
    try {
      rec = JSON.parse(line)
    } catch (cause) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} line ${i + 1} is not valid JSON: ${line.slice(0, 80)}`,
        path: [path, i + 1],
        cause,
      })
    }
    const r = rec as { v?: unknown; type?: unknown }
    if (r.v !== JOURNAL_VERSION) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} line ${i + 1} has version ${String(r.v)}; this nasjs reads version ${JOURNAL_VERSION}`,
        value: r.v,
        allowed: [JOURNAL_VERSION],
        path: [path, i + 1],
      })
    }
    if (typeof r.type !== 'string' || !TYPES.has(r.type) || (i === 0) !== (r.type === 'header')) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} line ${i + 1}: unexpected record type ${JSON.stringify(r.type)} (the first line is the header, then ask, tell, snapshot, resume or end records)`,
        value: r.type,
        allowed: [...TYPES],
        path: [path, i + 1],
      })
    }
    out.push(rec as JournalRecord)
  })
  const header = out[0]
  if (header === undefined || header.type !== 'header') {
    throw new NasError({ code: 'JOURNAL', message: `journal ${path} has no header line`, path: [path] })
  }
  return {
    header,
    records: out.slice(1) as Exclude<JournalRecord, JournalHeader>[],
    validBytes: lastNl < 0 ? 0 : Buffer.byteLength(complete, 'utf8') + 1,
    tornTail: tornTail && text.length > 0,
  }
}

/**
 * An append-only JSONL journal writer. Each record is one `write(2)` of one line, so a process
 * killed at any point leaves every earlier record intact (at most the last line torn, which readers
 * ignore); with `fsync` each record is also forced to disk (survives power loss, slower).
 * @since 0.1.0
 * @category journal
 */
export class JournalWriter {
  private fd: number | undefined

  private constructor(
    readonly path: string,
    fd: number,
    private readonly fsync: boolean,
  ) {
    this.fd = fd
  }

  /** Opens `path` for appending; `truncateTo` cuts a torn tail first. */
  static open(path: string, opts: { fsync?: boolean; truncateTo?: number } = {}): JournalWriter {
    let fd: number
    try {
      fd = openSync(path, 'a')
      if (opts.truncateTo !== undefined) ftruncateSync(fd, opts.truncateTo)
    } catch (cause) {
      throw new NasError({
        code: 'IO',
        message: `cannot open journal ${path} for writing`,
        path: [path],
        cause,
      })
    }
    return new JournalWriter(path, fd, opts.fsync === true)
  }

  write(record: JournalRecord): void {
    if (this.fd === undefined) {
      throw new NasError({ code: 'JOURNAL', message: `journal ${this.path} is closed`, path: [this.path] })
    }
    writeSync(this.fd, JSON.stringify(record) + '\n')
    if (this.fsync) fsyncSync(this.fd)
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

/**
 * Whether a journal file exists and has content.
 * @since 0.1.0
 */
export function journalExists(path: string): boolean {
  if (!existsSync(path)) return false
  return readFileSync(path).length > 0
}
