import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { OperatorError } from '../../core/errors.ts';
import { verifyOperatorSignature } from '../../engine/index.ts';

/**
 * The example tool of the quick start: an order-status webhook served by the server itself (so
 * `npm start` needs no second process and two nodes never fight over a port). It verifies the
 * `X-Operator-Signature` the way any tool receiver should.
 */
const ORDERS: Record<string, { status: string; carrier?: string; eta?: string; items: string[] }> = {
  A12345: { status: 'shipped', carrier: 'UPS', eta: '2026-12-03', items: ['espresso machine'] },
  A10001: { status: 'delivered', carrier: 'DHL', eta: '2026-11-20', items: ['coffee grinder', 'filters'] },
  A20002: { status: 'processing', items: ['milk frother'] },
};

const body = z.object({ arguments: z.object({ orderId: z.string() }) }).loose();

export function exampleRoutes(app: FastifyInstance, secret: string | undefined): void {
  app.register((scope, _opts, done) => {
    // Keep the raw body: the signature covers the exact bytes.
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, raw, cb) => {
      try {
        cb(null, { raw, json: JSON.parse(raw as string) as unknown });
      } catch {
        cb(new OperatorError('invalid_request', 'invalid_json', 'The body is not valid JSON'), undefined);
      }
    });
    scope.post('/examples/order-status', { config: { public: true } }, (req, reply) => {
      const { raw, json } = req.body as { raw: string; json: unknown };
      const sig = req.headers['x-operator-signature'];
      if (secret && !verifyOperatorSignature(secret, typeof sig === 'string' ? sig : '', raw, Date.now(), 300_000)) {
        throw new OperatorError('auth', 'invalid_signature', 'X-Operator-Signature does not match');
      }
      const parsed = body.safeParse(json);
      if (!parsed.success) throw new OperatorError('invalid_request', 'validation_failed', 'arguments.orderId is required');
      const id = parsed.data.arguments.orderId.toUpperCase();
      const order = ORDERS[id];
      if (!order) return reply.status(200).send({ found: false, orderId: id, message: `No order ${id} was found` });
      return reply.send({ found: true, orderId: id, ...order });
    });
    done();
  });
}
