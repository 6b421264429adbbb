import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { TwilioSimulator, sendInboundSms } from '../../src/testing/twilio-simulator.ts';
import { waitFor } from '../helpers/api.ts';
import { spawnServer, type ChildServer } from '../helpers/server.ts';
import { echoModelConfig, startEchoModel, type EchoModel } from './echo-model.ts';
import { SUPPORT_NUMBER, configFile } from './harness.ts';

/**
 * A node killed (-9) in the middle of a turn on a shared PostgreSQL: another node answers the
 * customer within seconds (the turn lease expires, the stall sweep re-queues the conversation),
 * and the customer gets exactly one reply.
 */

const url = process.env.OPERATOR_TEST_DATABASE_URL;
const PUBLIC = 'https://takeover.example.test';
const CUSTOMER = '+15550009999';

if (url === undefined || url === '') {
  console.warn('OPERATOR_TEST_DATABASE_URL is not set: the node takeover test is skipped.');
  describe.skip('node takeover on Postgres (set OPERATOR_TEST_DATABASE_URL)', () => {
    it('answers after a node dies mid-turn', () => {});
  });
} else {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const tag = randomBytes(5).toString('hex');
  const schema = `t_takeover_${tag}`;
  const queueSchema = `pgboss_takeover_${tag}`;
  const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const nodes: ChildServer[] = [];
  let sim: TwilioSimulator | undefined;
  let model: EchoModel | undefined;

  afterAll(async () => {
    for (const n of nodes) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await sim?.close();
    await model?.close();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.query(`drop schema if exists ${queueSchema} cascade`);
    await admin.end();
  }, 30_000);

  describe('a node dies mid-turn', () => {
    it('another node answers within seconds, once', async () => {
      await admin.query(`create schema ${schema}`);
      sim = await TwilioSimulator.start();
      model = await startEchoModel({ delayMs: 2_000 });
      const { dir, path } = configFile({
        pool: { size: 2 },
        logging: { level: 'info' },
        channels: { sms: [{ number: SUPPORT_NUMBER, agent: 'support' }] },
        agents: { support: { instructions: 'x', async: { debounce: { sms: '0s' } }, model: echoModelConfig(model) } },
      });
      const env = {
        OPERATOR_CONFIG: path, OPERATOR_DATA_DIR: dir, DATABASE_URL: databaseUrl, OPERATOR_PGBOSS_SCHEMA: queueSchema,
        OPERATOR_PUBLIC_URL: PUBLIC, TWILIO_ACCOUNT_SID: sim.accountSid, TWILIO_AUTH_TOKEN: sim.authToken, TWILIO_API_URL: sim.url,
      };
      const a = await spawnServer({ ...env, OPERATOR_NODE_ID: 'takeover-a' }, 30_000);
      nodes.push(a);
      const sent = await sendInboundSms({
        serverUrl: a.url, publicUrl: PUBLIC, authToken: sim.authToken, accountSid: sim.accountSid,
        from: CUSTOMER, to: SUPPORT_NUMBER, body: 'where is my order A77001',
      });
      expect(sent.status).toBe(200);
      // The turn is in flight on node A (the model has the prompt, its answer takes 2 s): kill A.
      await waitFor(() => Promise.resolve(model!.prompts.length >= 1 ? true : undefined), 'the turn to reach the model', 15_000);
      a.child.kill('SIGKILL');
      await a.exited;
      const killedAt = Date.now();

      const b = await spawnServer({ ...env, OPERATOR_NODE_ID: 'takeover-b' }, 30_000);
      nodes.push(b);
      const reply = await sim.waitForMessage((m) => m.to === CUSTOMER, 60_000);
      const tookMs = Date.now() - killedAt;
      expect(reply.body).toContain('A77001');
      // Lease (20 s) + sweep interval (5 s) + one model answer (2 s), with room for a loaded machine.
      expect(tookMs).toBeLessThan(45_000);
      // Exactly once: nothing more arrives while node B keeps sweeping.
      await new Promise((r) => setTimeout(r, 6_000));
      expect(sim.messages.filter((m) => m.to === CUSTOMER)).toHaveLength(1);
    }, 120_000);
  });
}
