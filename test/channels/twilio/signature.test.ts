import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signTwilioRequest, twilioRequestUrl, validTwilioSignature } from '../../../src/channels/twilio/signature.ts';

/** The documented algorithm, written out independently of the twilio package (protocols.md §3.3). */
function referenceSignature(token: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', token).update(Buffer.from(data, 'utf8')).digest('base64');
}

const TOKEN = '12345';
const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};

describe('X-Twilio-Signature', () => {
  it("matches Twilio's published test vector and the algorithm computed by hand", () => {
    expect(signTwilioRequest(TOKEN, URL_, PARAMS)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(referenceSignature(TOKEN, URL_, PARAMS)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(validTwilioSignature(TOKEN, URL_, PARAMS, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=')).toBe(true);
  });

  it('accepts a signature of an SMS webhook computed independently', () => {
    const url = 'https://operator.example.com/twilio/sms';
    const params = { MessageSid: `SM${'a'.repeat(32)}`, From: '+15550001111', To: '+15557654321', Body: 'Hello, wörld! 😀', NumMedia: '0', FromCity: '' };
    const header = referenceSignature('tok', url, params);
    expect(signTwilioRequest('tok', url, params)).toBe(header);
    expect(validTwilioSignature('tok', url, params, header)).toBe(true);
  });

  it('rejects a tampered, added or removed parameter', () => {
    const header = signTwilioRequest(TOKEN, URL_, PARAMS);
    expect(validTwilioSignature(TOKEN, URL_, { ...PARAMS, Digits: '1235' }, header)).toBe(false);
    expect(validTwilioSignature(TOKEN, URL_, { ...PARAMS, Extra: '' }, header)).toBe(false);
    const { Digits: _d, ...without } = PARAMS;
    expect(validTwilioSignature(TOKEN, URL_, without, header)).toBe(false);
  });

  it('rejects the wrong URL: path, scheme, host or query', () => {
    const header = signTwilioRequest(TOKEN, URL_, PARAMS);
    for (const url of [
      'https://mycompany.com/other.php?foo=1&bar=2',
      'http://mycompany.com/myapp.php?foo=1&bar=2',
      'https://evil.example/myapp.php?foo=1&bar=2',
      'https://mycompany.com/myapp.php?foo=1&bar=3',
      'https://mycompany.com/myapp.php',
    ]) {
      expect(validTwilioSignature(TOKEN, url, PARAMS, header), url).toBe(false);
    }
  });

  it('rejects the wrong token, a missing or repeated header and garbage without throwing', () => {
    const header = signTwilioRequest(TOKEN, URL_, PARAMS);
    expect(validTwilioSignature('54321', URL_, PARAMS, header)).toBe(false);
    expect(validTwilioSignature('', URL_, PARAMS, header)).toBe(false);
    expect(validTwilioSignature(TOKEN, URL_, PARAMS, undefined)).toBe(false);
    expect(validTwilioSignature(TOKEN, URL_, PARAMS, '')).toBe(false);
    expect(validTwilioSignature(TOKEN, URL_, PARAMS, [header, header])).toBe(false);
    expect(validTwilioSignature(TOKEN, URL_, PARAMS, 'not base64 at all')).toBe(false);
    expect(validTwilioSignature(TOKEN, 'not a url', PARAMS, header)).toBe(false);
  });

  it('tolerates the explicit default port Twilio sometimes signs', () => {
    const header = signTwilioRequest('tok', 'https://operator.example.com:443/twilio/sms', { Body: 'x' });
    expect(validTwilioSignature('tok', 'https://operator.example.com/twilio/sms', { Body: 'x' }, header)).toBe(true);
  });

  it('signs repeated keys as Twilio does: values sorted, each as name+value', () => {
    const url = 'https://operator.example.com/twilio/voice/status';
    const header = signTwilioRequest('tok', url, { StatusCallbackEvent: ['ringing', 'answered'], A: '1' });
    const data = `${url}A1StatusCallbackEventansweredStatusCallbackEventringing`;
    expect(header).toBe(createHmac('sha1', 'tok').update(data).digest('base64'));
    expect(validTwilioSignature('tok', url, { A: '1', StatusCallbackEvent: ['answered', 'ringing'] }, header)).toBe(true);
  });

  it('builds the signed URL from the public base and the path and query as received', () => {
    expect(twilioRequestUrl('https://op.example.com', '/twilio/sms')).toBe('https://op.example.com/twilio/sms');
    expect(twilioRequestUrl('https://op.example.com/', '/twilio/sms?x=%27a')).toBe('https://op.example.com/twilio/sms?x=%27a');
    expect(twilioRequestUrl('https://op.example.com/operator/', 'twilio/sms')).toBe('https://op.example.com/operator/twilio/sms');
  });
});
