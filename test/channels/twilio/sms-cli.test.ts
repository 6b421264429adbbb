import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { TwilioRestClient } from '../../../src/channels/twilio/rest.ts';
import { twilioRequestUrl, validTwilioSignature } from '../../../src/channels/twilio/signature.ts';
import { parseInboundSms } from '../../../src/channels/twilio/sms-codec.ts';
import { startReceiver, type Receiver } from './receiver.ts';
import { freePort } from '../../helpers/ports.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const SID = `AC${'ab'.repeat(16)}`;
const TOKEN = 'cli-test-token';

let operator: Receiver | undefined;
afterEach(async () => {
  await operator?.close();
  operator = undefined;
});

/** Stands in for Operator: checks the signature, acknowledges, then replies through "Twilio" REST. */
async function echoServer(twilioPort: number): Promise<Receiver> {
  const rest = new TwilioRestClient({ accountSid: SID, authToken: TOKEN, baseUrl: `http://127.0.0.1:${twilioPort}` });
  const self = await startReceiver((hook) => {
    if (!validTwilioSignature(TOKEN, twilioRequestUrl(self.url, hook.url), hook.form, hook.signature)) return { status: 403, body: 'bad signature' };
    const sms = parseInboundSms(hook.form);
    void rest.sendMessage({ from: sms.to, to: sms.from, body: `echo: ${sms.body}` });
    return { status: 200 };
  });
  return self;
}

describe('operator sms', () => {
  it('sends each message as a signed SMS and prints the reply that reaches its Twilio API', async () => {
    const port = await freePort();
    operator = await echoServer(port);
    const { stdout } = await run(process.execPath, [CLI, 'sms', '--server', operator.url, '--port', String(port), '--account-sid', SID, '--auth-token', TOKEN, '--wait', '10', 'hello', 'second one'], {
      env: { ...process.env, TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '' },
    });
    expect(stdout).toContain(`Twilio simulator on http://127.0.0.1:${port}`);
    expect(stdout).toMatch(/you> hello\nagent> echo: hello\nyou> second one\nagent> echo: second one\n/);
    expect(operator.received.map((h) => h.form.From)).toEqual(['+15550001111', '+15550001111']);
    expect(operator.received.map((h) => h.form.To)).toEqual(['+15557654321', '+15557654321']);
  });

  it('explains a refused signature', async () => {
    const port = await freePort();
    operator = await echoServer(port);
    const err = await run(process.execPath, [CLI, 'sms', '--server', operator.url, '--port', String(port), '--account-sid', SID, '--auth-token', 'wrong', 'hello']).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/answered 403.*TWILIO_AUTH_TOKEN/);
  });

  it('says in --help how to point the server at it', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'sms', '--help']);
    expect(stdout).toContain('TWILIO_API_URL=http://127.0.0.1:4010 npm start');
    expect(stdout).toContain('TWILIO_ACCOUNT_SID=AC');
  });
});
