/**
 * Once per `vitest run`: picks the broker under test (`TEST_BROKER`, `TEST_BROKER_URL`; see
 * packages/runtime/src/testing/test-broker.ts), makes a RabbitMQ vhost when it is AMQP, and hands its URL to
 * the test processes as TEST_BROKER_URL (forked after this runs, they inherit the environment). The returned
 * teardown deletes the vhost.
 */
import { prepareTestBroker } from './packages/runtime/src/testing/test-broker';

export default async function setup(): Promise<() => Promise<void>> {
  const { broker, teardown } = await prepareTestBroker(process.env);
  process.env.TEST_BROKER_URL = broker.url;
  return teardown;
}
