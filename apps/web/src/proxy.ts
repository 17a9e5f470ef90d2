/**
 * Next's request proxy: hands the page's own path to server components (`x-lovage-path`), so a signed-out
 * visitor sent to the sign-in page comes back to the page they asked for.
 */
import { NextResponse, type NextRequest } from 'next/server';

export function proxy(request: NextRequest): NextResponse {
  const headers = new Headers(request.headers);
  headers.set('x-lovage-path', `${request.nextUrl.pathname}${request.nextUrl.search}`);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Pages only: not the API, Next's assets or files.
  matcher: ['/((?!api/|_next/|.*\\..*).*)'],
};
