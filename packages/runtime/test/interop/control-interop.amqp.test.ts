/** Remote control between Celery 5.2.6 and Lovage on RabbitMQ, a vhost of this file's own (the tests: ./control-interop.shared.ts). */
import { describeControlInterop } from './control-interop.shared';

describeControlInterop('amqp');
