import type { Rng } from '@nasjs/core'
import type { z } from 'zod'

/**
 * Fixed-length numeric encodings of an architecture. `onehot` and `ordinal` exist for every space;
 * cell spaces add `adjacency` and `path` (BANANAS).
 * @since 0.1.0
 */
export type EncodingKind = 'onehot' | 'ordinal' | 'adjacency' | 'path'

/** A validation problem: where, what was found, what was allowed. Returned, not thrown. */
export interface SampleError {
  readonly path: readonly (string | number)[]
  readonly message: string
  readonly value?: unknown
  readonly allowed?: readonly unknown[]
}

/** One step of a sequential decision process over a space (used by MCTS, REINFORCE and beam search). */
export interface Decision {
  /** A stable name for this decision, e.g. `edge.0->1` or `stage2.block1.kernel`; policies key on it. */
  readonly name: string
  /** The number of options; a decision's value is an integer in [0, size). */
  readonly size: number
  /** Human-readable labels of the options, when they exist. */
  readonly labels?: readonly string[]
}

/**
 * A space seen as a tree of decisions: a strategy builds an architecture one integer choice at a
 * time. For conditional spaces the next decision depends on the earlier ones.
 */
export interface DecisionTree<A> {
  /** The next decision after `prefix`, or `undefined` when `prefix` is a complete architecture. */
  next(prefix: readonly number[]): Decision | undefined
  /** Builds the architecture from a complete decision list (throws a NasError if incomplete/out of range). */
  build(decisions: readonly number[]): A
  /** The decision list that builds `a` (`build(decide(a))` equals `a`). */
  decide(a: A): number[]
}

/**
 * An immutable, JSON-serialisable search space (see docs/architecture.md). All random
 * operations take an explicit seeded {@link Rng}; nothing mutates its arguments.
 * @since 0.1.0
 * @category models
 */
export interface SearchSpace<A> {
  /** The registered id, e.g. `nb201`. */
  readonly id: string
  /** Validates an architecture given as JSON; errors name the path, the bad value and the allowed values. */
  readonly schema: z.ZodType<A>
  /** Encodings this space supports. */
  readonly encodings: readonly EncodingKind[]
  /** The sequential-decision view of the space. */
  readonly decisions: DecisionTree<A>

  sample(rng: Rng): A
  /** Changes exactly one active decision. */
  mutate(a: A, rng: Rng): A
  /** Uniform crossover: each decision from either parent. */
  crossover(a: A, b: A, rng: Rng): A
  /** All architectures one mutation away (for local search). */
  neighbors(a: A): A[]
  /** The exact number of architectures. */
  size(): bigint
  /** Every architecture, where the space is finite and small; absent otherwise. */
  enumerate?(): Iterable<A>
  /** A fixed-length vector; the length depends only on the space and the kind. */
  encode(a: A, kind?: EncodingKind): Float32Array
  encodingLength(kind?: EncodingKind): number
  /** A canonical hash: functionally equal architectures share it. */
  hash(a: A): string
  /** The paper's text form, e.g. NB201 `|nor_conv_3x3~0|+|...|`. */
  format(a: A): string
  /** Parses the text form (throws a NasError naming the position and allowed values). */
  parse(text: string): A
  /** `undefined` when `x` is an architecture of this space, else what is wrong. */
  check(x: unknown): SampleError | undefined
  /** Returns `x` as an architecture of this space or throws a NasError (`ARCH_INVALID`). */
  validate(x: unknown): A
  toJSON(a: A): unknown
  fromJSON(json: unknown): A
  /** A short human description of the space (dimensions and size). */
  describe(): string
}
