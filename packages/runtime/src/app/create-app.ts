/** `createApp`: validates the options, builds the adapters their URLs name (the composition root), and the app. */
import { App, type CreateAppOptions } from './app';
import { parseConfig } from './config';
import { buildAdapters } from './transports';

export function createApp(options: CreateAppOptions): App {
  const { logger, ...input } = options;
  const config = parseConfig(input);
  return new App(config, buildAdapters(config), logger);
}
