/**
 * What the global setup started, handed to the specs through a JSON file named by LOVAGE_E2E_RUN (Playwright
 * passes the runner's environment to its test workers).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Role = 'viewer' | 'operator' | 'admin';

export interface SeededUser {
  email: string;
  password: string;
  role: Role;
  /** Playwright storage state holding a session of this user (seeded through the auth API, not the form). */
  storageState: string;
}

export interface RunInfo {
  runId: string;
  /** The console, e.g. http://127.0.0.1:41234 (also its LOVAGE_WEB_URL). */
  baseURL: string;
  /** The broker under test (TEST_BROKER / TEST_BROKER_URL; an AMQP run has a vhost of its own). */
  brokerUrl: string;
  resultBackendUrl: string;
  /** The state store's Redis (the broker's URL when the broker is Redis): the run's keys live there. */
  stateUrl: string;
  /** The broker's global key prefix: every key of this run starts with it. */
  prefix: string;
  /** The queue the e2e worker consumes. */
  queue: string;
  /** The e2e worker's node name. */
  workerHostname: string;
  /** The run's temporary folder (PGlite, sessions, journal). */
  runDir: string;
  users: Record<Role, SeededUser>;
}

export const E2E_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO_DIR = path.dirname(E2E_DIR);
export const SCREENSHOT_DIR = path.join(E2E_DIR, 'screenshots');
export const LOG_DIR = path.join(E2E_DIR, 'logs');
export const RUN_FILE_VAR = 'LOVAGE_E2E_RUN';

let cached: RunInfo | null = null;

export function runInfo(): RunInfo {
  if (cached) return cached;
  const file = process.env[RUN_FILE_VAR];
  if (!file) throw new Error(`${RUN_FILE_VAR} is not set: run the specs through e2e/playwright.config.ts`);
  cached = JSON.parse(readFileSync(file, 'utf8')) as RunInfo;
  return cached;
}
