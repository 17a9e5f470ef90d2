/**
 * Sending a canvas as Celery 5.2.6 does (celery/canvas.py): ids frozen ahead (`freeze`), a chain's steps
 * reversed in the first message's `chain` (`chain.prepare_steps`; a group followed by a step becomes a chord),
 * a group's members with its id as their `group` (`group._prepared`), a chord's header size recorded in the
 * result backend before its members are sent with `group_index` and the body as their `chord` (`chord.run`).
 * Everything a call sends is built and encoded first and then published in one bulk send, so a bad canvas
 * sends nothing.
 *
 * Lovage workers run what Celery's tracer sends on (worker/canvas.ts) but not every nesting; the ones they
 * would refuse at run time are refused here, at build time (`refuse`), with what to do instead.
 */
import { randomUUID } from 'node:crypto';
import { AsyncResult, GroupResult, type ResultNode, type ResultOwner } from '../app/async-result';
import { ConfigError, LovageError } from '../errors';
import { encodeJson } from '../protocol/json';
import { decodeSignature, type Signature } from '../protocol/message';
import { sendOptions, signatureList, str, type SendContext, type SignatureSendOptions } from './options';

/** What a canvas needs of the app: sending many tasks in one round trip, results, revoking. */
export interface CanvasApp extends ResultOwner {
  sendTaskMany<R = unknown>(
    calls: readonly {
      name: string;
      args: unknown[];
      kwargs?: Record<string, unknown>;
      options?: SignatureSendOptions;
    }[],
  ): Promise<AsyncResult<R>[]>;
}

interface Call {
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: SignatureSendOptions;
}

/** What one canvas sends: its messages, the chord sizes to record first, and the result handle. */
interface Plan {
  calls: Call[];
  chords: { groupId: string; size: number }[];
  result: ResultNode;
}

/** Celery's `freeze()` arguments. */
interface Freeze {
  taskId?: string;
  groupId?: string;
  chord?: Signature;
  rootId?: string;
  parentId?: string;
  groupIndex?: number;
}

/** Celery's `app.thread_oid`, the `reply_to` a frozen signature carries: one per app here. */
const oids = new WeakMap<object, string>();
const oidOf = (app: object): string => {
  let oid = oids.get(app);
  if (!oid) oids.set(app, (oid = randomUUID()));
  return oid;
};

/** Sends a canvas (`partial` prepended to its first task's arguments) and returns its result handle. */
export async function applyCanvas(app: CanvasApp, sig: Signature, partial: unknown[]): Promise<ResultNode> {
  checkNode(sig, 'canvas', false);
  const plan = planOf(app, structuredClone(sig), partial, {});
  for (const [i, call] of plan.calls.entries()) {
    try {
      encodeJson(call.args, 'args');
      encodeJson(call.kwargs, 'kwargs');
      encodeJson(call.options.embed, 'embed');
    } catch (err) {
      if (err instanceof LovageError) err.message = `${call.name} (message ${i}): ${err.message}`;
      throw err;
    }
  }
  if (plan.chords.length > 0) {
    const backend = app.backend;
    if (!backend?.chordStart) {
      throw new ConfigError('a chord needs a result backend that counts chords (the Redis result backend)');
    }
    for (const c of plan.chords) await backend.chordStart(c.groupId, c.size);
  }
  await app.sendTaskMany(plan.calls);
  return plan.result;
}

function planOf(app: CanvasApp, sig: Signature, partial: unknown[], ctx: SendContext): Plan {
  switch (sig.subtask_type) {
    case 'chain':
      return planChain(app, sig, partial, {});
    case 'group':
      return planGroup(app, sig, partial);
    case 'chord':
      return planChord(app, sig, partial);
    default: {
      const result = freeze(app, sig, {});
      return { calls: [callOf(sig, partial, ctx)], chords: [], result };
    }
  }
}

/** One task message: `partial` prepended unless immutable (Celery: `Signature._merge`). */
function callOf(sig: Signature, partial: unknown[], ctx: SendContext): Call {
  return {
    name: sig.task,
    args: sig.immutable ? sig.args : [...partial, ...sig.args],
    kwargs: sig.kwargs,
    options: sendOptions(sig, ctx),
  };
}

/**
 * Celery's `chain.run`: the steps prepared (frozen, reversed), the first sent with the rest as its `chain`.
 * `last` freezes the last step (a chain inside a group or a chord's header: its group, index and chord).
 */
function planChain(app: CanvasApp, sig: Signature, partial: unknown[], last: Freeze): Plan {
  const { tasks, results } = prepareSteps(
    app,
    stepsOf(sig),
    partial,
    last,
    signatureList(sig.options.link_error, 'link_error'),
  );
  const first = tasks.pop()!;
  const result = results[0]!;
  if (first.subtask_type === 'chord' || first.subtask_type === 'group') {
    const plan = first.subtask_type === 'chord' ? planChord : planGroup;
    const inner = plan(app, first, partial);
    return { ...inner, result };
  }
  return { calls: [callOf(first, [], { chain: tasks })], chords: [], result };
}

/** The steps of a chain or the members of a group (`kwargs.tasks`). */
function stepsOf(sig: Signature): Signature[] {
  const tasks = sig.kwargs.tasks;
  if (!Array.isArray(tasks)) throw new ConfigError(`${sig.task}: kwargs.tasks must be a list`);
  return tasks.map((t, i) => decodeSignature(t, `${sig.task}.tasks[${i}]`));
}

/** Celery's `chain.prepare_steps`: the steps last to first, each frozen, each result's parent the step before. */
function prepareSteps(
  app: CanvasApp,
  steps: Signature[],
  partial: unknown[],
  last: Freeze,
  linkError: Signature[],
): { tasks: Signature[]; results: ResultNode[] } {
  const queue = [...steps];
  const tasks: Signature[] = [];
  const results: ResultNode[] = [];
  let prevTask: Signature | null = null;
  let prevRes: ResultNode | null = null;
  while (queue.length > 0) {
    let task = structuredClone(queue.pop()!);
    const isFirst = queue.length === 0;
    const isLast = tasks.length === 0 && prevTask === null;
    // The partial arguments go to the first task; a group or chord first gets them when it is planned.
    if (isFirst && !task.subtask_type && !task.immutable) task.args = [...partial, ...task.args];
    if (task.subtask_type === 'chain') {
      queue.push(...stepsOf(task)); // a chain in a chain is spliced in
      continue;
    }
    if (task.subtask_type === 'group' && prevTask) {
      // group | step becomes chord(group, step); the step was frozen already and is its body now.
      tasks.pop();
      results.pop();
      task = chordDict(task, prevTask);
    }
    const res = isLast
      ? freeze(app, task, last)
      : freeze(app, task, last.rootId ? { rootId: last.rootId } : {});
    if (prevRes && !prevRes.parent) prevRes.parent = res;
    if (linkError.length) {
      task.options.link_error = [...signatureList(task.options.link_error, 'link_error'), ...linkError];
    }
    tasks.push(task);
    results.push(res);
    prevTask = task;
    prevRes = res;
    if (task.subtask_type === 'chord') {
      // The step before a chord is its header's parent.
      let node: ResultNode = res;
      while (node.parent) node = node.parent;
      prevRes = node;
    }
  }
  return { tasks, results };
}

function chordDict(header: Signature, body: Signature): Signature {
  return {
    task: 'celery.chord',
    args: [],
    kwargs: { kwargs: {}, header, body },
    options: {},
    subtask_type: 'chord',
    immutable: false,
  };
}

/** Celery's `freeze()`: ids (and where the task belongs) fixed in the options before anything is sent. */
function freeze(app: CanvasApp, sig: Signature, f: Freeze): ResultNode {
  const o = sig.options;
  if (sig.subtask_type === 'group') {
    const gid = (o.task_id ??= f.groupId ?? randomUUID()) as string;
    if (f.groupId) o.group_id = f.groupId;
    if (f.chord) o.chord = f.chord;
    if (f.groupIndex !== undefined) o.group_index = f.groupIndex;
    o.root_id ??= f.rootId ?? null;
    o.parent_id ??= f.parentId ?? null;
    const members = unroll(sig);
    sig.kwargs.tasks = members;
    const results = members.map((m, groupIndex) =>
      freeze(app, m, {
        groupId: f.groupId,
        chord: f.chord,
        rootId: str(o.root_id),
        parentId: str(o.parent_id),
        groupIndex,
      }),
    );
    return new GroupResult(gid, results.map(asMember(app)), app);
  }
  if (sig.subtask_type === 'chain') {
    // Celery's `chain.freeze`: its steps prepared in place, the last one carrying `f` (a group or chord's).
    const { tasks, results } = prepareSteps(app, stepsOf(sig), [], f, []);
    sig.kwargs.tasks = tasks.reverse();
    return results[0]!;
  }
  if (sig.subtask_type === 'chord') {
    const header = sig.kwargs.header as Signature;
    const body = sig.kwargs.body as Signature;
    const headerRes = freeze(app, header, { parentId: f.parentId, rootId: f.rootId, chord: body });
    const bodyRes = freeze(app, body, { ...f, parentId: undefined });
    o.task_id = header.options.task_id;
    let node: ResultNode = bodyRes;
    while (node.parent) node = node.parent;
    node.parent = headerRes;
    return bodyRes;
  }
  o.task_id ??= f.taskId ?? randomUUID();
  if (f.rootId) o.root_id = f.rootId;
  if (f.parentId) o.parent_id = f.parentId;
  o.reply_to ??= oidOf(app);
  if (f.groupId && !('group_id' in o)) o.group_id = f.groupId;
  if (f.chord) o.chord = f.chord;
  if (f.groupIndex !== undefined) o.group_index = f.groupIndex;
  return new AsyncResult(o.task_id as string, app);
}

const asMember =
  (app: CanvasApp) =>
  (r: ResultNode): AsyncResult =>
    r instanceof AsyncResult ? r : new AsyncResult(r.id, app);

/** A group's members with groups inside it flattened (Celery: `_freeze_unroll`). */
function unroll(sig: Signature): Signature[] {
  return stepsOf(sig).flatMap((m) => (m.subtask_type === 'group' ? unroll(m) : [m]));
}

/**
 * Celery's `group.apply_async`: every member (nested groups flattened) frozen with the group's id and sent
 * with it as their `group`; a chain member's last step carries it. The partial arguments go to each member.
 */
function planGroup(app: CanvasApp, sig: Signature, partial: unknown[]): Plan {
  const gid = (sig.options.task_id ??= randomUUID()) as string;
  return planMembers(app, sig, partial, () => ({ groupId: gid }), gid, []);
}

function planMembers(
  app: CanvasApp,
  sig: Signature,
  partial: unknown[],
  freezeOf: (index: number) => Freeze,
  gid: string,
  chords: Plan['chords'],
): Plan {
  const calls: Call[] = [];
  const results: AsyncResult[] = [];
  const rootId = str(sig.options.root_id);
  for (const [i, member] of unroll(sig).entries()) {
    const f = { ...freezeOf(i), ...(rootId ? { rootId } : {}) };
    if (member.subtask_type === 'chain') {
      const plan = planChain(app, member, partial, f);
      calls.push(...plan.calls);
      results.push(asMember(app)(plan.result));
      continue;
    }
    const m = structuredClone(member);
    if (partial.length && !m.immutable) m.args = [...partial, ...m.args];
    results.push(asMember(app)(freeze(app, m, f)));
    calls.push(callOf(m, [], {}));
  }
  return { calls, chords, result: new GroupResult(gid, results, app) };
}

/**
 * Celery's `chord.run`: the body frozen, the header's size recorded (`chordStart`, before any member is sent),
 * each header member sent with the chord's group id, its `group_index` and the body as its `chord`. Returns
 * the body's result, its parent the header's GroupResult.
 */
function planChord(app: CanvasApp, sig: Signature, partial: unknown[]): Plan {
  const header = decodeSignature(sig.kwargs.header, 'chord header');
  const body = decodeSignature(sig.kwargs.body, 'chord body');
  const bodyRes = freeze(app, body, {});
  const gid = str(header.options.task_id) ?? randomUUID();
  header.options.task_id = gid;
  const size = unroll(header).length;
  const plan = planMembers(
    app,
    header,
    partial,
    (groupIndex) => ({ groupId: gid, chord: body, groupIndex }),
    gid,
    [{ groupId: gid, size }],
  );
  let node: ResultNode = bodyRes;
  while (node.parent) node = node.parent;
  node.parent = plan.result;
  return { ...plan, result: bodyRes };
}

/**
 * The nestings Lovage workers would refuse at run time (worker/canvas.ts), refused before anything is sent.
 * What a worker sends (a chain's later steps, callbacks, a chord's body) may be a task, a group of tasks or a
 * chord whose header is tasks; what the client sends may also have chains as group members and header tasks.
 * Refused everywhere: steps after a chord in a chain (Celery carries them in the body's options, which Lovage
 * workers do not read), a chain or a chord as a chord's body, a chord inside a group or a chord's header, and a
 * chord with an empty header (Celery would send the body at once with `[]`; almost always a mistake).
 * `byWorker`: a Lovage worker sends this node, not the client.
 */
function checkNode(sig: Signature, where: string, byWorker: boolean): void {
  for (const key of ['link', 'link_error'] as const) {
    for (const cb of signatureList(sig.options[key], key)) checkNode(cb, `${where} ${key} ${cb.task}`, true);
  }
  const members = (of: Signature, what: string) => {
    for (const m of unroll(of)) {
      if (m.subtask_type === 'chord') refuse(`${where}: a chord inside ${what}`, 'send the chord on its own');
      checkNode(m, `${where} ${m.task}`, byWorker);
    }
  };
  switch (sig.subtask_type) {
    case null:
      return;
    case 'chain': {
      if (byWorker)
        refuse(
          `${where}: a chain sent by a worker (a callback, a group member or a later step)`,
          'make its steps part of the outer chain, or link its first task',
        );
      const steps = flatSteps(sig);
      steps.forEach((step, i) => {
        const chordLike =
          step.subtask_type === 'chord' || (step.subtask_type === 'group' && i + 1 < steps.length);
        const after = steps.length - i - (step.subtask_type === 'chord' ? 1 : 2);
        if (chordLike && after > 0) {
          refuse(
            `${where}: a chord (or a group followed by a step) with more steps after it in a chain`,
            'end the chain at the chord',
          );
        }
        checkNode(step, `${where} step ${i}`, i > 0);
      });
      return;
    }
    case 'group':
      return members(sig, 'a group');
    case 'chord': {
      const header = decodeSignature(sig.kwargs.header, 'chord header');
      const body = decodeSignature(sig.kwargs.body, 'chord body');
      if (unroll(header).length === 0) {
        throw new ConfigError(`${where}: a chord needs at least one header task (the header is empty)`);
      }
      members(header, "a chord's header");
      if (body.subtask_type === 'chain' || body.subtask_type === 'chord') {
        refuse(`${where}: a ${body.subtask_type} as a chord's body`, 'use a task or a group as the body');
      }
      checkNode(body, `${where} body`, true);
      return;
    }
    default:
      throw new ConfigError(`${where}: unknown canvas type ${sig.subtask_type} (${sig.task})`);
  }
}

function flatSteps(sig: Signature): Signature[] {
  return stepsOf(sig).flatMap((s) => (s.subtask_type === 'chain' ? flatSteps(s) : [s]));
}

function refuse(what: string, instead: string): never {
  throw new ConfigError(`${what} is not run by Lovage workers: ${instead}`);
}
