import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '@/server/routers/app-router';
import { getServices } from '@/server/services/instance';
import { createContext } from '@/server/trpc/init';

async function handle(req: Request): Promise<Response> {
  const services = await getServices();
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => createContext({ services, headers: req.headers }),
  });
}

export { handle as GET, handle as POST };
