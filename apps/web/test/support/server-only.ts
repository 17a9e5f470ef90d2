// Stands in for the `server-only` package in tests (see vitest.config.ts): the tests run server code
// outside Next.js, where the real package throws on import.
export {};
