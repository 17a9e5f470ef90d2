// Next.js calls register() once when the server starts: open the database, apply migrations, create or
// announce the first admin and check Redis before the first request. NEXT_RUNTIME and NEXT_PHASE are
// Next's own switches (its Node.js or edge runtime; `next build` prerendering), not configuration:
// src/env.ts reads the console's variables. The build must not open the database.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs' && process.env.NEXT_PHASE !== 'phase-production-build') {
    const { getServices } = await import('./server/services/instance');
    await getServices();
  }
}
