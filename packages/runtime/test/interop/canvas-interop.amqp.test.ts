/** Celery 5.2.6 canvas on Lovage workers, on RabbitMQ (the tests: ./canvas-interop.shared.ts). */
import { describeCanvasInterop } from './canvas-interop.shared';

describeCanvasInterop('amqp');
