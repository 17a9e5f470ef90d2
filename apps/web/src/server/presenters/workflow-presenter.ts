import 'server-only';
import type { TaskRecord } from '@lovage/runtime';
import { FINAL_STATES } from '../routers/tasks/task-states';

/** One task of a workflow's tree: what a row shows, and the tasks it sent (its children by parent_id). */
export interface WorkflowTask {
  kind: 'task';
  id: string;
  name: string | null;
  state: string;
  /** Epoch ms: sent (else received), started, finished (succeeded, failed, revoked or rejected). */
  sentAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  group: string | null;
  /** The task whose page this is. */
  current: boolean;
  children: WorkflowNode[];
}

/** Siblings that are members of one group (Celery's group, a chord's header), shown and acted on together. */
export interface WorkflowGroup {
  kind: 'group';
  id: string;
  members: WorkflowTask[];
  /** Members the index holds in all (some may be elsewhere in the tree, or past the bound). */
  total: number;
  /** Of the members shown: how many failed (Retry group re-sends those) and how many have not finished. */
  failed: number;
  unfinished: number;
}

export type WorkflowNode = WorkflowTask | WorkflowGroup;

export interface Workflow {
  /** The workflow's root (Celery's root_id): the task itself when it has none. */
  rootId: string;
  /** Whether the index still holds the root (trimmed, or sent by a client without task-sent events). */
  rootKnown: boolean;
  /** Top-level nodes: the root, and any task whose parent the index does not hold. */
  nodes: WorkflowNode[];
  /** Tasks shown, and tasks of the workflow (and of the task's group) the bound left out. */
  shown: number;
  more: number;
  /** The most tasks one workflow view shows. */
  limit: number;
  /** Every task id shown, for live updates. */
  ids: string[];
}

const FINISHED = ['succeeded', 'failed', 'revoked', 'rejected'] as const;

function taskNode(r: TaskRecord, currentId: string): WorkflowTask {
  const ts = r.timestamps;
  const ends = FINISHED.flatMap((k) => (ts[k] === undefined ? [] : [ts[k]]));
  return {
    kind: 'task',
    id: r.id,
    name: r.name,
    state: r.state,
    sentAt: ts.sent ?? ts.received ?? null,
    startedAt: ts.started ?? null,
    finishedAt: FINAL_STATES.includes(r.state) && ends.length > 0 ? Math.max(...ends) : null,
    group: r.group,
    current: r.id === currentId,
    children: [],
  };
}

const sentOrder = (a: TaskRecord, b: TaskRecord) => {
  const at = (r: TaskRecord) => r.timestamps.sent ?? r.timestamps.received ?? r.updatedAt;
  return at(a) - at(b) || a.id.localeCompare(b.id);
};

/**
 * The tree of a workflow's tasks by parent_id, siblings in the order they were sent, and siblings of one
 * group gathered into a group node where its first member stands. A task whose parent is not among
 * `records` is a top-level node; so is one caught in a parent loop (ids are only strings from events).
 */
export function buildWorkflowTree(
  records: readonly TaskRecord[],
  opts: { currentId: string; groupTotals: ReadonlyMap<string, number> },
): WorkflowNode[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  const kids = new Map<string, TaskRecord[]>();
  const top: TaskRecord[] = [];
  for (const r of byId.values()) {
    const parent = r.parentId !== null && r.parentId !== r.id ? byId.get(r.parentId) : undefined;
    if (!parent) top.push(r);
    else kids.set(parent.id, [...(kids.get(parent.id) ?? []), r]);
  }
  const placed = new Set<string>();
  // Iterative, so a chain thousands of steps long cannot exhaust the stack.
  const build = (level: TaskRecord[]): WorkflowNode[] => {
    const out: WorkflowNode[] = [];
    const stack: { records: TaskRecord[]; into: WorkflowNode[] }[] = [{ records: level, into: out }];
    while (stack.length > 0) {
      const { records: siblings, into } = stack.pop()!;
      const groups = new Map<string, WorkflowGroup>();
      for (const r of [...siblings].sort(sentOrder)) {
        if (placed.has(r.id)) continue;
        placed.add(r.id);
        const node = taskNode(r, opts.currentId);
        if (r.group !== null) {
          let g = groups.get(r.group);
          if (!g) {
            g = {
              kind: 'group',
              id: r.group,
              members: [],
              total: opts.groupTotals.get(r.group) ?? 0,
              failed: 0,
              unfinished: 0,
            };
            groups.set(r.group, g);
            into.push(g);
          }
          g.members.push(node);
          if (r.state === 'FAILURE') g.failed++;
          if (!FINAL_STATES.includes(r.state)) g.unfinished++;
        } else {
          into.push(node);
        }
        const children = kids.get(r.id);
        if (children) stack.push({ records: children, into: node.children });
      }
      for (const g of groups.values()) g.total = Math.max(g.total, g.members.length);
    }
    return out;
  };
  const nodes = build(top);
  // Whatever only a parent loop reaches.
  const rest = [...byId.values()].filter((r) => !placed.has(r.id));
  if (rest.length > 0) nodes.push(...build(rest));
  return nodes;
}
