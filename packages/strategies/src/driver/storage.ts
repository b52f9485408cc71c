import { NasError } from '@nasjs/core'
import type { JournalEntry, JournalHeader, JournalRecord } from './records.js'
import { parseJournalRecord } from './records.js'

/**
 * What a {@link TrialStorage} holds: the header and the records after it, validated.
 * @since 0.1.0
 */
export interface StoredJournal {
  readonly header: JournalHeader
  /** Every record after the header, in order. */
  readonly entries: readonly JournalEntry[]
  /** The 1-based line (or position) of each entry, for messages. */
  readonly lines: readonly number[]
  /** Set when the store repaired something on reading (e.g. cut a torn last line after a crash). */
  readonly repaired?: string
}

/**
 * Where a study keeps its trials: an append-only log of journal records with an exclusive writer.
 * The driver ({@link Study}) appends every ask before the evaluation starts and every tell when it
 * ends, and a strategy snapshot every few tells, so a crash at any point loses nothing and a resume
 * replays only the records after the last snapshot.
 *
 * Stores: {@link memoryStorage} (here, platform-free), the JSONL file journal `fileStorage` from
 * `@nasjs/strategies/node`; an IndexedDB store for the web app and a Redis store fit the same
 * contract. Contract, tested for every store by `describeStorageConformance` in
 * `@nasjs/strategies/testing`:
 * - `lock()` takes exclusive write access for this process or page; a second writer gets a `JOURNAL`
 *   NasError naming the holder. A lock left by a writer that died is taken over.
 * - `read()` returns what is stored (validated: a bad record is a `JOURNAL` NasError naming its
 *   line), or `undefined` when nothing is.
 * - `append` and `snapshot` keep the order they are called in; after `flush()` resolves every record
 *   survives the process. `close()` flushes and releases the lock.
 * @since 0.1.0
 * @category storage
 */
export interface TrialStorage {
  /** Where the records live, for messages (a file path, a database key). */
  readonly location: string
  lock(): Promise<void>
  read(): Promise<StoredJournal | undefined>
  append(record: JournalRecord): void
  /** Appends a strategy snapshot (a store may keep only the latest one, in its place in the order). */
  snapshot(record: Extract<JournalEntry, { type: 'snapshot' }>): void
  flush(): Promise<void>
  close(): Promise<void>
}

/**
 * Collects the records of a store in order, validating each one as it comes (`where` names the
 * store in messages), so that a store can read a large journal line by line. Used by every store's
 * `read`.
 * @since 0.1.0
 * @category storage
 */
export class JournalReader {
  private header: JournalHeader | undefined
  private readonly entries: JournalEntry[] = []
  private readonly lines: number[] = []
  constructor(private readonly where: string) {}

  /** Adds the record parsed from line `line` (1-based). */
  add(json: unknown, line: number): void {
    const first = this.header === undefined
    const r = parseJournalRecord(json, first ? 1 : line, this.where)
    if (first) this.header = r as JournalHeader
    else {
      this.entries.push(r as JournalEntry)
      this.lines.push(line)
    }
  }

  /** What was read, or `undefined` for an empty store. */
  done(repaired?: string): StoredJournal | undefined {
    if (this.header === undefined) return undefined
    return {
      header: this.header,
      entries: this.entries,
      lines: this.lines,
      ...(repaired === undefined ? {} : { repaired }),
    }
  }
}

interface MemoryState {
  readonly records: string[]
  locked: boolean
}

/**
 * An in-memory {@link TrialStorage}: records are kept as JSON strings (so what is read back is
 * exactly what a file would hold). Give one store to several studies in turn to model a process
 * that stops and resumes; `records()` and `crashCopy()` let tests look inside and fork it.
 * @example
 * ```ts
 * const storage = memoryStorage()
 * await runSearch({ ...opts, storage, budget: { trials: 50 } })
 * await runSearch({ ...opts, storage, resume: true, budget: { trials: 100 } }) // continues
 * ```
 * @since 0.1.0
 * @category storage
 */
export function memoryStorage(name = 'memory'): TrialStorage & {
  /** The records as stored (JSON lines). */
  records(): readonly string[]
  /** An unlocked copy holding the first `n` records (a process that died after writing them). */
  crashCopy(n?: number): TrialStorage
} {
  return memoryStore(name, { records: [], locked: false })
}

function memoryStore(name: string, state: MemoryState): ReturnType<typeof memoryStorage> {
  let mine = false
  const store = {
    location: name,
    lock(): Promise<void> {
      if (state.locked) {
        return Promise.reject(
          new NasError({
            code: 'JOURNAL',
            message: `storage ${name} is in use by another study; close that one first`,
            value: name,
          }),
        )
      }
      state.locked = true
      mine = true
      return Promise.resolve()
    },
    read(): Promise<StoredJournal | undefined> {
      try {
        const reader = new JournalReader(name)
        state.records.forEach((r, i) => reader.add(JSON.parse(r), i + 1))
        return Promise.resolve(reader.done())
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)))
      }
    },
    append(record: JournalRecord): void {
      if (!mine) {
        throw new NasError({
          code: 'JOURNAL',
          message: `storage ${name} is not locked by this study`,
          value: name,
        })
      }
      state.records.push(JSON.stringify(record))
    },
    snapshot(record: Extract<JournalEntry, { type: 'snapshot' }>): void {
      store.append(record)
    },
    flush: (): Promise<void> => Promise.resolve(),
    close(): Promise<void> {
      if (mine) state.locked = false
      mine = false
      return Promise.resolve()
    },
    records: (): readonly string[] => state.records.slice(),
    crashCopy: (n?: number) =>
      memoryStore(`${name} (copy)`, {
        records: state.records.slice(0, n ?? state.records.length),
        locked: false,
      }),
  }
  return store
}

/**
 * A storage that keeps nothing: what a study without a `storage` option writes to.
 * @since 0.1.0
 * @category storage
 */
export function discardStorage(): TrialStorage {
  return {
    location: 'memory (not kept)',
    lock: () => Promise.resolve(),
    read: () => Promise.resolve(undefined),
    append: () => {},
    snapshot: () => {},
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }
}
