import 'server-only';
import { appRouter } from '../routers/app-router';
import type { Services } from '../services/services';
import { createCallerFactory, createContext } from './init';

const factory = createCallerFactory(appRouter);

/** Calls procedures in-process with a request's headers (server components, tests). */
export async function createCaller(services: Services, headers: Headers) {
  return factory(await createContext({ services, headers }));
}
