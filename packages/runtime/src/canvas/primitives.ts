/**
 * Celery's canvas primitives, client side: `chain(a, b, c)`, `group(a, b)`, `chord(header, body)`. Each is a
 * node of a workflow (they nest as Celery's do, within what Lovage workers run: ./apply.ts) and each is sent
 * with `applyAsync()`/`delay()`; see ./apply.ts for what goes on the wire.
 */
import type { AsyncResult, GroupResult, ResultNode } from '../app/async-result';
import { ConfigError } from '../errors';
import type { Signature as SignatureDict } from '../protocol/message';
import { CanvasNode } from './signature';

/** What a node returns when it runs. */
export type ResultOf<N> = N extends CanvasNode<infer R, ResultNode> ? R : unknown;
/** The handle sending a node gives: a GroupResult for a group, else an AsyncResult. */
export type HandleOf<N> = N extends CanvasNode<unknown, infer H> ? H : ResultNode;
/** Any node, whatever it returns. */
export type AnyNode = CanvasNode<unknown, ResultNode>;

const dictsOf = (nodes: readonly AnyNode[]) => nodes.map((n) => n.toDict());

function appOf(nodes: readonly AnyNode[], what: string): AnyNode['app'] {
  const first = nodes[0];
  if (!first) throw new ConfigError(`${what} needs at least one task`);
  return first.app;
}

/**
 * Steps run one after another, each with the previous one's result prepended (Celery's chain). Sending it
 * returns the last step's result; its `parent` links go back to the first step.
 */
export class Chain<R = unknown, H extends ResultNode = AsyncResult<Awaited<R>>> extends CanvasNode<R, H> {
  constructor(
    readonly steps: readonly AnyNode[],
    private readonly errbacks: readonly AnyNode[] = [],
  ) {
    super(appOf(steps, 'a chain'));
  }

  /** A copy whose every step sends `errback` if it fails (Celery: `chain.apply_async(link_error=...)`). */
  linkError(errback: AnyNode): Chain<R, H> {
    return new Chain<R, H>(this.steps, [...this.errbacks, errback]);
  }

  toDict(): SignatureDict {
    return {
      task: 'celery.chain',
      args: [],
      kwargs: { tasks: dictsOf(this.steps) },
      options: this.errbacks.length ? { link_error: dictsOf(this.errbacks) } : {},
      subtask_type: 'chain',
      immutable: false,
    };
  }
}

/**
 * Tasks run in parallel (Celery's group); sending it returns a GroupResult in the members' order, every member
 * sent in one bulk publish.
 */
export class Group<R = unknown> extends CanvasNode<R[], GroupResult<Awaited<R>>> {
  readonly members: readonly CanvasNode<R, ResultNode>[];

  constructor(members: readonly CanvasNode<R, ResultNode>[], app?: AnyNode['app']) {
    super(app ?? appOf(members, 'a group'));
    this.members = members;
  }

  toDict(): SignatureDict {
    return {
      task: 'celery.group',
      args: [],
      kwargs: { tasks: dictsOf(this.members) },
      options: {},
      subtask_type: 'group',
      immutable: false,
    };
  }
}

/**
 * A group whose results, in order, are given to a body once every member finished (Celery's chord). Sending it
 * records the header's size in the result backend, then sends the header; it returns the body's result, its
 * `parent` the header's GroupResult. A failed member fails the body with ChordError naming it.
 */
export class Chord<R = unknown> extends CanvasNode<R> {
  readonly header: Group;

  constructor(
    header: Group | readonly AnyNode[],
    readonly body: CanvasNode<R, ResultNode>,
  ) {
    super(body.app);
    this.header = header instanceof Group ? header : new Group([...header], body.app);
  }

  toDict(): SignatureDict {
    return {
      task: 'celery.chord',
      args: [],
      kwargs: { kwargs: {}, header: this.header.toDict(), body: this.body.toDict() },
      options: {},
      subtask_type: 'chord',
      immutable: false,
    };
  }
}

/** `chain(a, b, c)`: see Chain. The chain returns what its last step returns. */
export function chain<L extends AnyNode>(...steps: [...AnyNode[], L]): Chain<ResultOf<L>, HandleOf<L>> {
  return new Chain<ResultOf<L>, HandleOf<L>>(steps);
}

/** `group(a, b)` or `group([a, b])`: see Group. */
export function group<N extends AnyNode>(...members: N[] | [readonly N[]]): Group<ResultOf<N>> {
  const list = (members.length === 1 && Array.isArray(members[0]) ? members[0] : members) as N[];
  return new Group<ResultOf<N>>(list as unknown as CanvasNode<ResultOf<N>, ResultNode>[]);
}

/** `chord([a, b], body)` or `chord(group(a, b), body)`: see Chord. */
export function chord<B extends AnyNode>(header: Group | readonly AnyNode[], body: B): Chord<ResultOf<B>> {
  return new Chord<ResultOf<B>>(header, body as CanvasNode<ResultOf<B>, ResultNode>);
}
