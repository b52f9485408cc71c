import { NasError, parseConstraints, parseObjectives } from '@nasjs/core'
import type { Budget } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { TrialLedger } from './ledger.js'
import type { LedgerOptions } from './ledger.js'
import type { JournalEntry } from './records.js'
import type { StoredJournal } from './storage.js'

/** What a replay found besides the ledger's trials. */
export interface ReplayState {
  /** The budget in force: the header's, or the last journaled change. */
  readonly budget: Budget
  /** Search time of every session so far. */
  readonly elapsedMs: number
  /** The reason of the last `end` record, when the journal ends with one (`undefined`: a session did not end cleanly, or one is running). */
  readonly ended: string | undefined
}

/** Calls into the replay, for a study that brings its strategy along. */
export interface ReplayHooks<A> {
  /** Before an ask is booked (the architecture is validated); `i` is the entry index. */
  readonly ask?: (r: Extract<JournalEntry, { type: 'ask' }>, arch: A, i: number) => void
  /** Before a tell is booked. */
  readonly tell?: (r: Extract<JournalEntry, { type: 'tell' }>, i: number) => void
}

/**
 * Books a journal's asks and tells into `ledger`, checking each record against the space and the
 * ones before it: an architecture that is not in the space or does not match its hash, an id asked
 * twice, a tell without an outstanding ask, are `JOURNAL` errors naming the line.
 */
export function replayInto<A>(
  ledger: TrialLedger<A>,
  stored: StoredJournal,
  where: string,
  hooks: ReplayHooks<A> = {},
): ReplayState {
  const space = ledger.space
  let budget = stored.header.budget
  let elapsed = 0
  let ended: string | undefined
  stored.entries.forEach((r, i) => {
    const line = stored.lines[i]!
    if (r.type === 'ask') {
      const arch = archOf(space, r, where, line)
      hooks.ask?.(r, arch, i)
      if (ledger.get(r.trial) !== undefined) {
        throw new NasError({
          code: 'JOURNAL',
          message: `journal ${where} line ${line}: trial ${r.trial} is asked twice`,
          path: [where, line],
        })
      }
      ledger.add({
        id: r.trial,
        arch,
        hash: r.hash,
        ...(r.fidelity === undefined ? {} : { fidelity: r.fidelity }),
      })
      ended = undefined
    } else if (r.type === 'tell') {
      if (!ledger.isOutstanding(r.trial)) {
        throw new NasError({
          code: 'JOURNAL',
          message: `journal ${where} line ${line}: a tell of trial ${r.trial} without an outstanding ask`,
          path: [where, line],
        })
      }
      hooks.tell?.(r, i)
      ledger.record(r.trial, r.outcome, {
        cached: r.cached,
        durationMs: r.durationMs,
        cost: r.cost,
        skipped: r.skipped === true,
      })
      elapsed = r.elapsedMs
      ended = undefined
    } else if (r.type === 'budget') {
      budget = r.budget
    } else if (r.type === 'end') {
      elapsed = Math.max(elapsed, r.elapsedMs)
      ended = r.reason
    } else if (r.type === 'resume') {
      ended = undefined
    }
  })
  return { budget, elapsedMs: elapsed, ended }
}

function archOf<A>(
  space: SearchSpace<A>,
  r: Extract<JournalEntry, { type: 'ask' }>,
  where: string,
  line: number,
): A {
  let arch: A
  try {
    arch = space.fromJSON(r.arch)
  } catch (cause) {
    throw new NasError({
      code: 'JOURNAL',
      message: `journal ${where} line ${line}: trial ${r.trial}'s architecture is not in space '${space.id}': ${cause instanceof Error ? cause.message : String(cause)}`,
      value: r.arch,
      path: [where, line],
      cause,
    })
  }
  const h = space.hash(arch)
  if (h !== r.hash) {
    throw new NasError({
      code: 'JOURNAL',
      message: `journal ${where} line ${line}: trial ${r.trial}'s hash ${r.hash} does not match its architecture ${space.format(arch)} (hash ${h}); the journal was edited or is corrupt`,
      value: r.hash,
      allowed: [h],
      path: [where, line],
    })
  }
  return arch
}

/**
 * Rebuilds the ledger of a stored study without its strategy (for reports, e.g. `nas report`, or a
 * web app opening a run): every trial, the counts, the best, the front and the anytime curve. The
 * space must be the header's (`SPACE_MISMATCH` otherwise).
 * @example
 * ```ts
 * const { ledger } = ledgerFromJournal(nb201, readJournalFile('runs/a/trials.jsonl')!, 'runs/a/trials.jsonl')
 * console.log(ledger.front().length)
 * ```
 * @since 0.1.0
 * @category driver
 */
export function ledgerFromJournal<A>(
  space: SearchSpace<A>,
  stored: StoredJournal,
  where: string,
  opts: Pick<LedgerOptions<A>, 'frontScore'> = {},
): ReplayState & { readonly ledger: TrialLedger<A> } {
  const h = stored.header
  if (h.space !== space.id) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `${where} was written for space '${h.space}', not '${space.id}'`,
      value: space.id,
      allowed: [h.space],
      path: [where],
    })
  }
  const ledger = new TrialLedger({
    space,
    objectives: parseObjectives(h.objectives),
    constraints: parseConstraints(h.constraints),
    cache: h.cache,
    ...opts,
  })
  return { ledger, ...replayInto(ledger, stored, where) }
}
