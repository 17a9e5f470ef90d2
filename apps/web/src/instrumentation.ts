/**
 * Runs once when the console's server starts (Next's instrumentation hook): opens the database, applies
 * migrations, checks Redis and prints how to sign in right away, instead of on the first request.
 */
export async function register(): Promise<void> {
  // Next sets NEXT_RUNTIME; the services need Node (PGlite, Redis), not the edge runtime.
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { getServices } = await import('./server/services/instance');
  await getServices();
}
