/** Events between Celery 5.2.6 and Lovage on Redis (the tests: ./events-interop.shared.ts). */
import { describeEventsInterop } from './events-interop.shared';

describeEventsInterop('redis');
