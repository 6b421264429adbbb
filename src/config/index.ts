export { buildConfig, loadConfig, type OperatorConfig, type ToolImplementation } from './load.ts';
export { parseDurationMs } from './duration.ts';
export type { ConfigInput } from './schema.ts';
import type { ConfigInput } from './schema.ts';

/** Typed identity for `.ts` configs: `export default defineConfig({ agents: { … } })`. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}
