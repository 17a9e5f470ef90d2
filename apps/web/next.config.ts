import type { NextConfig } from 'next';

const config: NextConfig = {
  // The browser tests build into their own folder, so a console running from `.next` is not disturbed.
  distDir: process.env.LOVAGE_WEB_DIST_DIR ?? '.next',
  // PGlite reads its .wasm through `new URL(..., import.meta.url)`, which bundling breaks. (The queue
  // runtime has the same trait; src/server/runtime.ts keeps it out of the bundle.)
  serverExternalPackages: ['@electric-sql/pglite', '@electric-sql/pglite-socket'],
  // `next dev` browsed at http://127.0.0.1:PORT would otherwise block the HMR socket (no hydration).
  allowedDevOrigins: ['127.0.0.1'],
  poweredByHeader: false,
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default config;
