import { getServices } from '@/server/services/instance';

// better-auth's endpoints: sign-in, sign-out, session (it checks Origin and rate-limits sign-in itself).
async function handle(req: Request): Promise<Response> {
  const { auth } = await getServices();
  return auth.handler(req);
}

export { handle as GET, handle as POST };
