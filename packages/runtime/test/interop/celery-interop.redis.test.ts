/** Celery 5.2.6 <-> Lovage task interop on Redis (the tests: ./celery-interop.shared.ts). */
import { describeCeleryInterop } from './celery-interop.shared';

describeCeleryInterop('redis');
