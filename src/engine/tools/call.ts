import type { BuiltinToolSpec } from '../../core/agent.ts';
import { CALL_TOOL_EXAMPLES, type DigitRequest, type DigitResult, type TransferTarget } from '../../core/voice.ts';

export type { DigitRequest, DigitResult } from '../../core/voice.ts';
import type { ToolContext } from '../types.ts';
import { type ToolOutcome, failure, success } from './outcome.ts';

export const TRANSFER_CALL = 'transfer_call';
export const COLLECT_DIGITS = 'collect_digits';

/** What a phone call offers the engine's built-in call tools (absent outside calls). */
export interface CallControls {
  /** Transfer targets by name (the agent's `voice.transfer`); `transfer_call` is offered when non-empty. */
  targets: Record<string, TransferTarget>;
  /** Whether the carrier can transfer at all (a browser call cannot). */
  canTransfer: boolean;
  /** Whether the caller can press keys (phone calls; a browser call cannot). */
  hasKeypad: boolean;
  /** Waits for key presses; rejects when the signal aborts. */
  collectDigits(request: DigitRequest, signal: AbortSignal): Promise<DigitResult>;
}

export function transferCallExamples(): string[] {
  return [...CALL_TOOL_EXAMPLES.transfer_call];
}

export function collectDigitsExamples(): string[] {
  return [...CALL_TOOL_EXAMPLES.collect_digits];
}

export function transferCallSpec(targets: Record<string, TransferTarget>): BuiltinToolSpec {
  const names = Object.keys(targets);
  const described = names.map((n) => `${n}${targets[n]!.description ? ` (${targets[n]!.description})` : ''}`).join(', ');
  return {
    kind: 'builtin',
    name: TRANSFER_CALL,
    description:
      `Transfer the caller to a person. Targets: ${described}. ` +
      'Say a short hand-off line in your answer ("Let me put you through to billing"): the call is transferred right after it.',
    parameters: {
      type: 'object',
      properties: {
        target: { type: 'string', enum: names, description: 'Who to transfer the caller to.' },
        reason: { type: 'string', description: 'Why, in a few words (kept on the conversation).' },
      },
      required: ['target'],
      additionalProperties: false,
    },
    examples: transferCallExamples(),
    timeoutMs: 1000,
  };
}

export function collectDigitsSpec(): BuiltinToolSpec {
  return {
    kind: 'builtin',
    name: COLLECT_DIGITS,
    description:
      'Collect digits the caller types on the phone keypad (an account number, a PIN, a menu choice). ' +
      'First ask for them in your answer ("Please enter your account number, then press pound"), then call this.',
    parameters: {
      type: 'object',
      properties: {
        count: { type: 'integer', minimum: 1, maximum: 32, description: 'How many digits to collect.' },
        terminator: { type: 'string', enum: ['#', '*'], description: 'The key that ends the entry.' },
        timeoutSeconds: { type: 'number', minimum: 1, maximum: 60, description: 'How long to wait for the next key (default 8).' },
      },
      additionalProperties: false,
    },
    examples: collectDigitsExamples(),
    timeoutMs: 120_000,
  };
}

/** The call tools this session offers. */
export function callToolSpecs(call: CallControls | undefined): BuiltinToolSpec[] {
  if (!call) return [];
  const specs = call.hasKeypad ? [collectDigitsSpec()] : [];
  if (call.canTransfer && Object.keys(call.targets).length > 0) specs.unshift(transferCallSpec(call.targets));
  return specs;
}

export async function runCollectDigits(args: Record<string, unknown>, ctx: ToolContext, call: CallControls | undefined): Promise<ToolOutcome> {
  if (!call) return failure('not_on_a_call', 'Digits can only be collected on a phone call.');
  const request: DigitRequest = {
    ...(typeof args.count === 'number' ? { count: args.count } : {}),
    ...(typeof args.terminator === 'string' ? { terminator: args.terminator } : {}),
    timeoutMs: Math.round((typeof args.timeoutSeconds === 'number' ? args.timeoutSeconds : 8) * 1000),
  };
  if (request.count === undefined && request.terminator === undefined) request.terminator = '#';
  const result = await call.collectDigits(request, ctx.signal);
  return success(result.digits === '' ? { ...result, note: 'The caller pressed no keys.' } : result);
}

/** Checks the target; the transfer itself happens once the hand-off line has been heard. */
export function runTransfer(
  args: Record<string, unknown>,
  ctx: ToolContext,
  call: CallControls | undefined,
  transferAfterTurn: (turnId: string, to: string) => void,
): ToolOutcome {
  if (!call?.canTransfer) return failure('transfer_unavailable', 'This conversation cannot be transferred.');
  const target = typeof args.target === 'string' ? call.targets[args.target] : undefined;
  if (!target) return failure('unknown_target', `Transfer targets are: ${Object.keys(call.targets).join(', ')}.`);
  transferAfterTurn(ctx.turnId, target.to);
  return success({ transferring: true, note: 'The call is transferred after this answer. Say a short hand-off line now.' });
}
