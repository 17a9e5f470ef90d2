/** Events between Celery 5.2.6 and Lovage on RabbitMQ, a vhost of this file's own (the tests: ./events-interop.shared.ts). */
import { describeEventsInterop } from './events-interop.shared';

describeEventsInterop('amqp');
