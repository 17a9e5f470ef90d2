import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { auditedState } from './read-schedules';
import { scheduleActionProcedure } from './schedule-action';

/**
 * Run now (operators): sends the entry's task with its arguments and options, as beat would, outside its
 * schedule (the entry's timing is left as it is), and records the run in its history as this user's.
 * An entry without a queue goes where the beat's app routes the task (the routes beat published: the
 * task's own queue, else the app's default), not to the console's default queue. Audited with the task id.
 */
export const runSchedule = scheduleActionProcedure(
  operatorProcedure,
  'schedule.run',
  async ({ services, user }, before, { name }) => {
    const { app } = services.lovage;
    const { task, args, kwargs, options } = before.definition;
    const routes = await app.state.beat.routes();
    const queue = options.queue ?? routes?.tasks[task] ?? routes?.defaultQueue;
    const asked = Date.now();
    const sent = await app.sendTask(task, args, kwargs, { ...options, ...(queue ? { queue } : {}) });
    await app.state.beat.record(name, {
      taskId: sent.id,
      due: asked,
      sent: Date.now(),
      by: user.email,
      missed: 0,
    });
    return {
      result: { taskId: sent.id, message: `Sent ${task} now as task ${sent.id}.` },
      after: auditedState(before),
      detail: { taskId: sent.id, queue: queue ?? null },
    };
  },
);
