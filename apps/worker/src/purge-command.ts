/**
 * `lovage purge -Q q1,q2`: deletes every waiting message of the queues, after a confirmation (or `--force`).
 * Reserved and running tasks are not touched, as with `celery purge`. Each purge that deleted something is
 * recorded in the task index on the app's state store, as the console records its own, so the console shows
 * it as the fate of the queue's tasks still PENDING that were sent before.
 */
import { createInterface } from 'node:readline/promises';
import { connectApp, type ConnectOptions } from './connect';
import { UsageError } from './errors';

export interface PurgeOptions extends ConnectOptions {
  queues?: string[];
  force?: boolean;
}

export async function runPurge(opts: PurgeOptions): Promise<void> {
  const app = await connectApp(opts);
  try {
    const queues = opts.queues?.length ? opts.queues : [app.config.defaultQueue];
    await app.broker.ping(5000);
    const counts = await Promise.all(queues.map((q) => app.broker.queueLength(q)));
    const total = counts.reduce((a, b) => a + b, 0);
    if (!opts.force) {
      if (!process.stdin.isTTY) {
        throw new UsageError(
          `refusing to purge ${queues.join(', ')} without confirmation (stdin is not a terminal); pass --force`,
        );
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(
        `${total} message${total === 1 ? '' : 's'} in ${queues.join(', ')} will be deleted for good. Are you sure? [y/N] `,
      );
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        process.stdout.write('nothing purged\n');
        return;
      }
    }
    let purged = 0;
    const index = app.state.taskIndex();
    try {
      for (const queue of queues) {
        const at = Date.now();
        const count = await app.broker.purge(queue);
        if (count > 0) await index.recordPurge({ queue, at, by: 'lovage purge', count });
        purged += count;
      }
    } finally {
      await index.close();
    }
    process.stdout.write(
      `Purged ${purged} message${purged === 1 ? '' : 's'} from ${queues.length} known task queue${queues.length === 1 ? '' : 's'}.\n`,
    );
  } finally {
    await app.close().catch(() => undefined);
  }
}
