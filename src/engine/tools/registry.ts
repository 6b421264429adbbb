import type { LanguageModelV3FunctionTool } from '@ai-sdk/provider';
import type { ToolSpec } from '../../core/agent.ts';
import type { Clock } from '../../core/clock.ts';
import type { ToolContext, ToolFunction } from '../types.ts';
import { type BuiltinHost, runBuiltin } from './builtin.ts';
import { callFunction } from './function.ts';
import { type ToolOutcome, failure, thrownFailure } from './outcome.ts';
import { type ArgumentsCheck, argumentsCheck } from './validate.ts';
import { callWebhook } from './webhook.ts';

export interface ToolDeps {
  functions: Record<string, ToolFunction>;
  clock: Clock;
  builtins: BuiltinHost;
}

/** An agent's tools: their definitions for the model, and one way to run any of them. */
export interface ToolRegistry {
  readonly definitions: LanguageModelV3FunctionTool[];
  /** Validates the arguments against the tool's schema, then runs it. Never throws. */
  run(name: string, args: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutcome>;
}

interface Entry {
  spec: ToolSpec;
  check: ArgumentsCheck;
}

/** Throws `tool_schema_invalid` when a tool's parameters are not a JSON Schema. */
export function createToolRegistry(specs: readonly ToolSpec[], deps: ToolDeps): ToolRegistry {
  const entries = new Map<string, Entry>(
    specs.map((spec) => [spec.name, { spec, check: argumentsCheck(spec.name, spec.parameters) }]),
  );
  const definitions = specs.map(
    (spec): LanguageModelV3FunctionTool => ({
      type: 'function',
      name: spec.name,
      description: spec.description,
      inputSchema: spec.parameters,
    }),
  );
  return {
    definitions,
    async run(name, args, ctx) {
      const entry = entries.get(name);
      if (!entry) return failure('tool_not_found', `there is no tool named ${name}`);
      const invalid = entry.check(args);
      if (invalid !== undefined) return failure('tool_invalid_arguments', invalid);
      try {
        return await invoke(entry.spec, args, ctx, deps);
      } catch (err) {
        return thrownFailure(err);
      }
    },
  };
}

function invoke(spec: ToolSpec, args: Record<string, unknown>, ctx: ToolContext, deps: ToolDeps): Promise<ToolOutcome> {
  switch (spec.kind) {
    case 'webhook':
      return callWebhook(spec, args, ctx, deps.clock);
    case 'function':
      return callFunction(spec, ownFunction(deps.functions, spec.name), args, ctx, deps.clock);
    case 'builtin':
      return Promise.resolve(runBuiltin(spec.name, args, ctx, deps.builtins));
  }
}

function ownFunction(functions: Record<string, ToolFunction>, name: string): ToolFunction | undefined {
  return Object.hasOwn(functions, name) ? functions[name] : undefined;
}
