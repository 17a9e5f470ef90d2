import 'server-only';
import { TRPCError } from '@trpc/server';
import type { TaskRecord } from '@lovage/runtime';
import { protectedProcedure } from '../../trpc/init';
import { buildWorkflowTree, type Workflow } from '../../presenters/workflow-presenter';
import { getTaskInput } from './get-task.schema';

/**
 * The most tasks one workflow view reads and shows: a tree of this many rows is still a page, and the
 * index reads them in one pipeline. Past it the view says how many more there are.
 */
export const WORKFLOW_LIMIT = 200;

/**
 * A task's workflow: its root (Celery's root_id) and the tree of the root's descendants by parent_id, group
 * members gathered, the task itself marked. The workflow's tasks come from the index's by-root set; the
 * members of the task's group from by-group, so the siblings of a group sent on its own (each member its own
 * root) are there too. A group member a Celery client sent and a Celery worker ran carries no group (their
 * events lack the field): it is in the tree by parent and root, not gathered into its group.
 */
export const getTaskWorkflow = protectedProcedure.input(getTaskInput).query(async ({ ctx, input }) => {
  const index = ctx.services.lovage.taskIndex;
  const task = await index.get(input.id);
  if (!task) throw new TRPCError({ code: 'NOT_FOUND', message: `No task ${input.id} in the index.` });
  const rootId = task.rootId ?? task.id;
  const [root, flow, group] = await Promise.all([
    rootId === task.id ? Promise.resolve(task) : index.get(rootId),
    index.workflow(rootId, WORKFLOW_LIMIT),
    task.group !== null ? index.groupMembers(task.group, WORKFLOW_LIMIT) : null,
  ]);
  const records = new Map<string, TaskRecord>();
  for (const r of [task, ...(root ? [root] : []), ...flow.items, ...(group?.items ?? [])]) {
    if (records.size < WORKFLOW_LIMIT || r.id === task.id) records.set(r.id, r);
  }
  const groupIds = new Set([...records.values()].flatMap((r) => (r.group !== null ? [r.group] : [])));
  const totals = new Map<string, number>();
  await Promise.all([...groupIds].map(async (g) => totals.set(g, (await index.groupMembers(g, 0)).total)));
  // Past the bound: the workflow's tasks not read, and the group's members outside the workflow (a group sent
  // on its own). A group inside the workflow (every member read is) adds none: its members are in by-root.
  const inWorkflow = group ? group.items.filter((r) => r.rootId === rootId).length : 0;
  const outside = group && inWorkflow < group.items.length ? group.total - inWorkflow : 0;
  const all = flow.total + (root ? 1 : 0) + outside;
  const workflow: Workflow = {
    rootId,
    rootKnown: root !== null,
    nodes: buildWorkflowTree([...records.values()], { currentId: task.id, groupTotals: totals }),
    shown: records.size,
    more: Math.max(0, all - records.size),
    limit: WORKFLOW_LIMIT,
    ids: [...records.keys()],
  };
  return workflow;
});
