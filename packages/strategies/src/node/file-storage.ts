import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { NasError } from '@nasjs/core'
import { parseJournalRecord } from '../driver/records.js'
import type { JournalEntry, JournalHeader, JournalRecord } from '../driver/records.js'
import { JournalReader } from '../driver/storage.js'
import type { StoredJournal, TrialStorage } from '../driver/storage.js'

/**
 * Options of {@link fileStorage}.
 * @since 0.1.0
 */
export interface FileStorageOptions {
  /** Force every record to disk (`fsync`): survives power loss, slower. */
  readonly fsync?: boolean
}

/** Who holds a journal's lock (the lock file's content). */
interface LockHolder {
  readonly pid: number
  readonly host: string
  readonly since: string
  readonly token: string
}

/**
 * The JSONL file journal: one record per line, each appended with one `write(2)`, so a process
 * killed at any point leaves every earlier record whole (at most the last line torn, which `read`
 * cuts off). The lock is a file beside the journal (`<path>.lock`) naming the holder's pid and
 * host; a second process is refused with that name, and a lock whose process no longer runs on this
 * host (it was killed) is taken over.
 *
 * @example
 * ```ts
 * import { fileStorage } from '@nasjs/strategies/node'
 * await runSearch({ ...opts, storage: fileStorage('runs/a/trials.jsonl'), resume: true })
 * ```
 * @since 0.1.0
 * @category storage
 */
export function fileStorage(path: string, opts: FileStorageOptions = {}): TrialStorage {
  const lockPath = `${path}.lock`
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    token: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  }
  let locked = false
  let fd: number | undefined
  let validBytes: number | undefined

  const openForAppend = (): number => {
    if (!locked) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} is not locked by this process`,
        path: [path],
      })
    }
    if (fd === undefined) {
      try {
        fd = openSync(path, 'a')
        if (validBytes !== undefined) ftruncateSync(fd, validBytes)
      } catch (cause) {
        throw ioError(`cannot open journal ${path} for writing`, path, cause)
      }
    }
    return fd
  }

  const storage: TrialStorage = {
    location: path,
    lock: () =>
      settle(() => {
        if (locked) {
          throw new NasError({
            code: 'JOURNAL',
            message: `journal ${path} is already in use by another study in this process`,
            path: [path],
          })
        }
        acquireLock(lockPath, path, me)
        locked = true
      }),
    read: () =>
      settle(() => {
        const r = readJournalText(path)
        if (r === undefined) return undefined
        // a torn last line (a crash mid-write) is cut before the next append
        if (r.tornBytes > 0) validBytes = r.validBytes
        return r.journal
      }),
    append(record: JournalRecord): void {
      const f = openForAppend()
      writeSync(f, JSON.stringify(record) + '\n')
      if (opts.fsync === true) fsyncSync(f)
    },
    snapshot(record: Extract<JournalEntry, { type: 'snapshot' }>): void {
      storage.append(record)
    },
    flush: () =>
      settle(() => {
        if (fd !== undefined) fsyncSync(fd)
      }),
    close: () =>
      settle(() => {
        if (fd !== undefined) {
          closeSync(fd)
          fd = undefined
        }
        if (locked) releaseLock(lockPath, me)
        locked = false
      }),
  }
  return storage
}

/** Runs `f` now and turns its result or its throw into a promise. */
function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f())
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)))
  }
}

/**
 * Reads a journal file without locking it (for reports; a live run may be appending): the records
 * validated, a torn last line left out. `undefined` when the file is missing or empty.
 * @since 0.1.0
 * @category storage
 */
export function readJournalFile(path: string): StoredJournal | undefined {
  return readJournalText(path)?.journal
}

/**
 * Reads only the header (the first line) of a journal file, validated; `undefined` when the file is
 * missing or has no complete first line. For a resume that needs the run's settings before it opens
 * the study.
 * @since 0.1.0
 * @category storage
 */
export function readJournalHeader(path: string): JournalHeader | undefined {
  if (!existsSync(path)) return undefined
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (cause) {
    throw ioError(`cannot read journal ${path}`, path, cause)
  }
  try {
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(64 * 1024)
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos)
      if (n === 0) return undefined
      const nl = buf.subarray(0, n).indexOf(0x0a)
      chunks.push(Buffer.from(buf.subarray(0, nl < 0 ? n : nl)))
      if (nl >= 0) break
      pos += n
    }
    const line = Buffer.concat(chunks).toString('utf8')
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (cause) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} line 1 is not valid JSON: ${line.slice(0, 80)}`,
        path: [path, 1],
        cause,
      })
    }
    return parseJournalRecord(json, 1, path) as JournalHeader
  } finally {
    closeSync(fd)
  }
}

function readJournalText(
  path: string,
): { journal: StoredJournal | undefined; validBytes: number; tornBytes: number } | undefined {
  if (!existsSync(path)) return undefined
  let buf: Buffer
  try {
    buf = readFileSync(path)
  } catch (cause) {
    throw ioError(`cannot read journal ${path}`, path, cause)
  }
  if (buf.length === 0) return undefined
  const lastNl = buf.lastIndexOf(0x0a)
  const validBytes = lastNl + 1
  const tornBytes = buf.length - validBytes
  // line by line over the bytes: no copy of the whole file as one string or a list of lines
  const reader = new JournalReader(path)
  let line = 0
  for (let start = 0; start < validBytes;) {
    const end = buf.indexOf(0x0a, start)
    const text = buf.toString('utf8', start, end)
    line++
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (cause) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} line ${line} is not valid JSON: ${text.slice(0, 80)}`,
        path: [path, line],
        cause,
      })
    }
    reader.add(json, line)
    start = end + 1
  }
  return {
    journal: reader.done(
      tornBytes === 0 ? undefined : `cut a torn last line of ${tornBytes} bytes (a crash while writing)`,
    ),
    validBytes,
    tornBytes,
  }
}

const ioError = (message: string, path: string, cause: unknown): NasError =>
  new NasError({
    code: 'IO',
    message: `${message}: ${(cause as { code?: string }).code ?? String(cause)}`,
    path: [path],
    cause,
  })

/**
 * Who holds the lock of the journal at `path`, when a live process does (or one on another host,
 * which cannot be checked); `undefined` when the journal is free or its lock is stale.
 * @since 0.1.0
 * @category storage
 */
export function journalLockHolder(
  path: string,
): { readonly pid: number; readonly host: string; readonly since: string } | undefined {
  const h = readHolder(`${path}.lock`)
  if (h === undefined || (h.host === hostname() && !alive(h.pid))) return undefined
  return { pid: h.pid, host: h.host, since: h.since }
}

/** The error for a journal locked by another process. */
function lockedError(path: string, holder: LockHolder, here: string): NasError {
  return new NasError({
    code: 'JOURNAL',
    message:
      `journal ${path} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}); ` +
      `wait for it to finish or stop it` +
      (holder.host === here ? '' : `; if that process is gone, delete ${path}.lock`),
    value: holder.pid,
    path: [path],
  })
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<LockHolder>
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.token === 'string')
      return h as LockHolder
  } catch {
    // unreadable or half-written: treated below
  }
  return undefined
}

/** Whether a process with this pid runs on this machine (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM'
  }
}

function acquireLock(lockPath: string, path: string, me: LockHolder): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      try {
        writeSync(fd, JSON.stringify(me))
      } finally {
        closeSync(fd)
      }
      return
    } catch (cause) {
      const code = (cause as { code?: string }).code
      if (code !== 'EEXIST') throw ioError(`cannot create the lock file ${lockPath}`, lockPath, cause)
    }
    const holder = readHolder(lockPath)
    if (holder !== undefined && (holder.host !== me.host || alive(holder.pid))) {
      throw lockedError(path, holder, me.host)
    }
    // the holder is dead (killed) or the file is not a lock we understand: take it over, making
    // sure that what is moved aside is the stale lock we judged and not a fresh one
    const aside = `${lockPath}.stale-${me.token}`
    try {
      renameSync(lockPath, aside)
    } catch {
      continue // someone else moved it first
    }
    const moved = readHolder(aside)
    if (holder !== undefined && moved?.token !== holder.token) {
      // a live process locked it in between: put it back and look again
      try {
        renameSync(aside, lockPath)
      } catch {
        // leave it; the next attempt will see whatever is there
      }
      continue
    }
    try {
      unlinkSync(aside)
    } catch {
      // harmless
    }
  }
  throw new NasError({
    code: 'JOURNAL',
    message: `journal ${path}: could not take the lock ${lockPath} (other processes keep competing for it)`,
    path: [path],
  })
}

function releaseLock(lockPath: string, me: LockHolder): void {
  if (readHolder(lockPath)?.token !== me.token) return
  try {
    unlinkSync(lockPath)
  } catch {
    // already gone
  }
}
