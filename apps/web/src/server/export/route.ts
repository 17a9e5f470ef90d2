import 'server-only';
import type { z } from 'zod';
import { getServices } from '../services/instance';
import type { Services } from '../services/services';
import { createContext } from '../trpc/init';

/**
 * A GET export route: the signed-in user (any role: viewers may export, as they may read), the query
 * checked by `schema` (a bad or unknown parameter is a 400 naming it), then the streamed download.
 */
export function exportRoute<S extends z.ZodType>(
  schema: S,
  respond: (services: Services, query: z.output<S>) => Response,
  services: () => Promise<Services> = getServices,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const svc = await services();
    const { user } = await createContext({ services: svc, headers: req.headers });
    if (!user) return Response.json({ error: 'Sign in first.' }, { status: 401 });
    const params = Object.fromEntries(new URL(req.url).searchParams);
    const parsed = schema.safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field =
        issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || 'query';
      const message = issue.code === 'unrecognized_keys' ? 'is not an export parameter' : issue.message;
      return Response.json({ error: `"${field}": ${message}` }, { status: 400 });
    }
    return respond(svc, parsed.data);
  };
}
