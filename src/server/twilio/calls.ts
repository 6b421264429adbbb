import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { OperatorConfig } from '../../config/index.ts';
import { TwilioApiError, type TwilioRestClient } from '../../channels/twilio/rest.ts';
import { connectStreamTwiml, mediaStreamUrl, sayHangupTwiml } from '../../channels/twilio/voice-twiml.ts';
import type { Conversation } from '../../core/conversation.ts';
import { OperatorError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Runtime } from '../../runtime/index.ts';
import type { Store } from '../../store/index.ts';
import { parseOr400 } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import { acceptTwilioForms, field, verifiedTwilioForm } from './verify.ts';

export interface CallRoutesDeps {
  config: OperatorConfig;
  store: Store;
  runtime: Runtime;
  authToken: string | undefined;
  publicUrl: string;
  rest: TwilioRestClient | undefined;
  nodeId: string;
}

const e164 = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 phone number like +15551234567');

export const createCallBody = z
  .object({
    agent: z.string().min(1).max(64),
    to: e164,
    from: e164.optional(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const callDocs: RouteDoc[] = [
  {
    method: 'post', path: '/v1/calls', summary: 'Place an outbound phone call through Twilio; the agent talks when it is answered',
    body: createCallBody,
    responses: { 201: { description: 'The call', schema: z.object({ conversationId: z.string(), callSid: z.string() }) } },
  },
];

/** Links a Twilio call to its conversation (status callbacks, outbound streams). */
export function callThreadKey(callSid: string): string {
  return `twilio-call:${callSid}`;
}

/** Twilio call states that end a call before it was answered, as ended reasons. */
const UNANSWERED: Record<string, string> = { 'no-answer': 'no_answer', busy: 'busy', failed: 'failed', canceled: 'canceled' };

/**
 * `POST /twilio/voice` (incoming call → TwiML `<Connect><Stream>`), `POST /twilio/voice/status`
 * (call progress) and `POST /v1/calls` (outbound calls through the REST API).
 */
export function callRoutes(app: FastifyInstance, deps: CallRoutesDeps): void {
  app.register((scope, _opts, done) => {
    acceptTwilioForms(scope);
    const verified = (req: FastifyRequest) => verifiedTwilioForm(req, deps.authToken, deps.publicUrl);

    scope.post('/twilio/voice', { config: { public: true, rateLimit: false } }, async (req, reply: FastifyReply) => {
      const form = verified(req);
      const callSid = field(form, 'CallSid');
      const linked = callSid ? await deps.store.threads.find([callThreadKey(callSid)]) : undefined;
      const xml = linked ? streamTwiml(deps, { conversationId: linked, callSid }) : inboundTwiml(deps, form);
      return reply.type('text/xml').send(xml);
    });

    scope.post('/twilio/voice/status', { config: { public: true, rateLimit: false } }, async (req, reply) => {
      const form = verified(req);
      const reason = UNANSWERED[field(form, 'CallStatus')];
      const id = reason ? await deps.store.threads.find([callThreadKey(field(form, 'CallSid'))]) : undefined;
      if (id && reason) await deps.runtime.endConversation(id, reason);
      return reply.status(204).send();
    });
    done();
  });

  app.post('/v1/calls', async (req, reply) => {
    const body = parseOr400(createCallBody, req.body, 'body');
    const rest = deps.rest;
    if (!rest) throw new OperatorError('invalid_request', 'twilio_not_configured', 'Outbound calls need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN', { status: 503 });
    const agent = deps.runtime.agent(body.agent);
    if (!agent) throw new OperatorError('not_found', 'agent_not_found', `No agent "${body.agent}" is configured (see GET /v1/agents)`);
    const from = body.from ?? deps.config.channels.voice.find((r) => r.agent === agent.id)?.number;
    if (!from) throw new OperatorError('invalid_request', 'from_required', `Give "from", or list a number for agent "${agent.id}" under channels.voice`);
    const conversation = await createCallConversation(deps, agent.id, body.to, body.context ?? {});
    let callSid: string;
    try {
      const call = await rest.createCall({
        to: body.to,
        from,
        twiml: streamTwiml(deps, { conversationId: conversation.id }),
        statusCallback: `${deps.publicUrl.replace(/\/+$/, '')}/twilio/voice/status`,
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
        idempotencyKey: conversation.id,
      });
      callSid = call.sid;
    } catch (err) {
      await deps.runtime.endConversation(conversation.id, 'failed');
      throw carrierFailure(err);
    }
    await deps.store.threads.link(conversation.id, [callThreadKey(callSid)]);
    return reply.status(201).send({ conversationId: conversation.id, callSid });
  });
}

/**
 * Twilio refused or failed: the client's request may be at fault (a bad number: 400), but our
 * credentials or Twilio's outage are not the client's 401/5xx — they are a bad gateway.
 */
function carrierFailure(err: unknown): unknown {
  if (!(err instanceof TwilioApiError) || err.kind === 'invalid_request') return err;
  return new OperatorError('server', err.code, `Twilio could not place the call: ${err.message}`, { status: 502, retryable: err.retryable });
}

function streamTwiml(deps: CallRoutesDeps, params: Record<string, string>): string {
  return connectStreamTwiml(mediaStreamUrl(deps.publicUrl), params);
}

/** An incoming call: the agent of the number called (`channels.voice`), or the first agent when none are listed. */
function inboundTwiml(deps: CallRoutesDeps, form: Record<string, string | string[]>): string {
  const to = field(form, 'To');
  const routes = deps.config.channels.voice;
  const agent = routes.length > 0 ? routes.find((r) => r.number === to)?.agent : deps.config.agents[0]?.id;
  if (!agent) return sayHangupTwiml('Sorry, this number is not in service.');
  return streamTwiml(deps, { agent, from: field(form, 'From'), to, callSid: field(form, 'CallSid') });
}

/** The conversation of an outbound call, created before the call so its context waits for the stream. */
async function createCallConversation(deps: CallRoutesDeps, agent: string, to: string, context: Record<string, unknown>): Promise<Conversation> {
  const now = Date.now();
  const customer = await deps.store.customers.findOrCreate({ phone: to }, now);
  const conversation: Conversation = {
    id: newId('conv', now),
    agent,
    channel: 'voice',
    mode: 'realtime',
    status: 'active',
    customerId: customer.id,
    context,
    nodeId: deps.nodeId,
    createdAt: now,
    updatedAt: now,
  };
  return deps.store.conversations.create(conversation);
}
