/** Remote control between Celery 5.2.6 and Lovage on Redis (the tests: ./control-interop.shared.ts). */
import { describeControlInterop } from './control-interop.shared';

describeControlInterop('redis');
