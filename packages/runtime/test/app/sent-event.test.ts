import { describe, expect, it, vi } from 'vitest';
import type { OutgoingMessage } from '../../src/protocol/message';
import { useTestApps } from '../helpers';

const testApp = useTestApps();

describe('the task-sent event', () => {
  it('is stamped before the task is published, so no worker event can predate it', async () => {
    const { app } = testApp({ taskSendSentEvent: true });
    const publish = app.broker.publish.bind(app.broker);
    let publishedAt = 0;
    vi.spyOn(app.broker, 'publish').mockImplementation(async (queue: string, message: OutgoingMessage) => {
      publishedAt = Date.now();
      // Publishing takes at least a millisecond, as a round trip to the broker does.
      while (Date.now() === publishedAt) await Promise.resolve();
      return publish(queue, message);
    });
    const fanout = vi.spyOn(app.broker, 'broadcast');
    await app.sendTask('proj.add', [1, 2]);
    const [, routingKey, message] = fanout.mock.calls[0]!;
    expect(routingKey).toBe('task.sent');
    const event = JSON.parse(String(message.body)) as { type: string; timestamp: number };
    expect(event.type).toBe('task-sent');
    expect(event.timestamp * 1000).toBeLessThanOrEqual(publishedAt);
  });
});
