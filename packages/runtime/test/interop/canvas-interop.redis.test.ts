/** Celery 5.2.6 canvas on Lovage workers, on Redis (the tests: ./canvas-interop.shared.ts). */
import { describeCanvasInterop } from './canvas-interop.shared';

describeCanvasInterop('redis');
