/** `createApp`: validates the options, builds the adapters their URLs name (the composition root), and the app. */
import { App, type CreateAppOptions } from './app';
import { parseConfig } from './config';
import { ConfigError } from '../errors';
import type { ResultBackend } from '../backend/backend';
import { buildAdapters, buildBackend } from './transports';
import { checkUrl } from './urls';

export function createApp(options: CreateAppOptions): App {
  const { logger, ...input } = options;
  const config = parseConfig(input);
  return new App(config, buildAdapters(config), logger);
}

/**
 * A result backend built from its URL by the composition root's table, for a process that needs one apart
 * from its app's (`lovage monitor --result-backend`). Refuses a URL no backend takes.
 */
export function createResultBackend(
  url: string,
  options: { resultExpires?: number | null } = {},
): ResultBackend {
  const problem = checkUrl('backend', url);
  if (problem) throw new ConfigError(problem);
  return buildBackend(url, { resultExpires: options.resultExpires ?? 86400 });
}
