export type { ConversationSession, CustomerServices, SessionInit, ToolContext, ToolFunction } from './types.ts';
export { createSession } from './session.ts';
export { renderTemplate, type TemplateVars } from './template.ts';
export { templateVars, systemPrompt } from './prompt.ts';
export { itemsToMessages, INTERRUPTED_NOTE } from './history.ts';
export { DEFAULT_CHANNEL_STYLE, channelStyle } from './style.ts';
export { STEP_LIMIT_APOLOGY } from './turn.ts';
export { builtinToolSpecs, END_CONVERSATION } from './tools/builtin.ts';
export { RECALL_HISTORY } from './tools/recall.ts';
export { SAVE_CONTACT } from './tools/contact.ts';
export { MAX_MESSAGE_CHARS, SEND_MESSAGE } from './tools/message.ts';
export { summariseItems, type ExtractedSummary } from './summary.ts';
export { estimateTokens, fitMemory, memorySection, MEMORY_HEADING } from './memory.ts';
export { type ToolError, type ToolErrorCode, type ToolOutcome } from './tools/outcome.ts';
export {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  operatorSignature,
  signatureHeader,
  verifyOperatorSignature,
} from './tools/signature.ts';
export { MAX_WEBHOOK_RESPONSE_BYTES, type WebhookRequestBody } from './tools/webhook.ts';
export {
  COLLECT_DIGITS,
  TRANSFER_CALL,
  collectDigitsExamples,
  transferCallExamples,
  type CallControls,
  type DigitRequest,
  type DigitResult,
} from './tools/call.ts';
