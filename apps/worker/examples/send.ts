/**
 * Sends one of each demo task and prints what comes back. Run a worker first:
 *
 *   npx lovage worker -A apps/worker/examples/tasks.ts
 *   npx tsx apps/worker/examples/send.ts
 */
import { add, app, fail, flaky, sleepTask } from './tasks';

try {
  console.log('demo.add(2, 3) =', await (await add.delay(2, 3)).get({ timeout: 10 }));
  console.log('demo.flaky() =', await (await flaky.delay()).get({ timeout: 10 }));
  console.log('demo.sleep(1) =', await (await sleepTask.delay(1)).get({ timeout: 10 }));
  try {
    await (await fail.delay('boom')).get({ timeout: 10 });
  } catch (err) {
    console.log('demo.fail("boom") raised', `${(err as Error).name}: ${(err as Error).message}`);
  }
} finally {
  await app.close();
}
