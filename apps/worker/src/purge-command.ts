/**
 * `lovage purge -Q q1,q2`: deletes every waiting message of the queues, after a confirmation (or `--force`).
 * Reserved and running tasks are not touched, as with `celery purge`.
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
    for (const q of queues) purged += await app.broker.purge(q);
    process.stdout.write(
      `Purged ${purged} message${purged === 1 ? '' : 's'} from ${queues.length} known task queue${queues.length === 1 ? '' : 's'}.\n`,
    );
  } finally {
    await app.close().catch(() => undefined);
  }
}
