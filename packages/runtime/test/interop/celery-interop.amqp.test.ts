/** Celery 5.2.6 <-> Lovage task interop on RabbitMQ, a vhost of this file's own (the tests: ./celery-interop.shared.ts). */
import { describeCeleryInterop } from './celery-interop.shared';

describeCeleryInterop('amqp');
