import { configError, formatPath, show } from '../internal.js'
import { CellNode } from './cell-node.js'
import { ConditionalNode } from './conditional-node.js'
import type { SpaceDef } from './constructors.js'
import { FieldsNode } from './fields-node.js'
import { LeafNode } from './leaf-node.js'
import type { Node, Path } from './node.js'
import { RepeatNode } from './repeat-node.js'
import { SpaceNode } from './space-node.js'

/** Compiles a definition into its node tree (`path` names the definition in errors). */
export function compile(def: SpaceDef, path: Path): Node {
  if (typeof def !== 'object' || def === null || !('kind' in def)) {
    throw configError(`${formatPath(path)}: not a space definition: ${show(def)}`, def)
  }
  switch (def.kind) {
    case 'choice':
      return new LeafNode(def.options, false, undefined)
    case 'ordinal':
      return new LeafNode(def.values, true, undefined)
    case 'int': {
      const vals: number[] = []
      for (let v = def.min; v <= def.max; v += def.step) vals.push(v)
      return new LeafNode(vals, true, def)
    }
    case 'repeat':
      return new RepeatNode(compile(def.item, [...path, '*']), def.min, def.max)
    case 'struct': {
      const keys = Object.keys(def.fields)
      return new FieldsNode(
        keys,
        keys.map((k) => compile(def.fields[k]!, [...path, k])),
        false,
      )
    }
    case 'product':
      return new FieldsNode(
        def.parts.map((_, i) => i),
        def.parts.map((p, i) => compile(p, [...path, i])),
        true,
      )
    case 'conditional': {
      const keys = Object.keys(def.options)
      return new ConditionalNode(
        keys,
        keys.map((k) => compile(def.options[k]!, [...path, 'value'])),
      )
    }
    case 'cell':
      return new CellNode(def)
    case 'space':
      return new SpaceNode(def.space)
    default:
      throw configError(
        `${formatPath(path)}: unknown definition kind ${show((def as { kind: unknown }).kind)}`,
      )
  }
}
