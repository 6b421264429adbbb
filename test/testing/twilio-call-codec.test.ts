import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { downsampleTo8k, mulawDecode, mulawEncode, mulawFromSample, mulawRms, sampleFromMulaw } from '../../src/testing/twilio-call-audio.ts';
import { readServerFrame } from '../../src/testing/twilio-call-protocol.ts';
import { reachStream, reachVia, resolveStreamUrl } from '../../src/testing/twilio-call-route.ts';
import { parseVoiceTwiml } from '../../src/testing/twilio-call-twiml.ts';

const SID = `MZ${'a'.repeat(32)}`;

describe('parseVoiceTwiml', () => {
  it('reads what the twilio package builds: Connect/Stream/Parameter, then Say, Dial and Hangup', () => {
    const r = new twilio.twiml.VoiceResponse();
    const stream = r.connect({ action: 'https://op.example.com/twilio/voice/after' }).stream({ url: 'wss://op.example.com/twilio/media-stream' });
    stream.parameter({ name: 'conversationId', value: 'c & 1' });
    stream.parameter({ name: 'token', value: 't"2' });
    r.say({ voice: 'alice' }, 'Transferring you <now>.');
    r.dial({ callerId: '+15550001111' }).number('+15550100');
    r.hangup();
    expect(parseVoiceTwiml(r.toString())).toEqual([
      {
        verb: 'Connect',
        action: 'https://op.example.com/twilio/voice/after',
        stream: { url: 'wss://op.example.com/twilio/media-stream', parameters: { conversationId: 'c & 1', token: 't"2' } },
      },
      { verb: 'Say', text: 'Transferring you <now>.', voice: 'alice' },
      { verb: 'Dial', target: '+15550100', callerId: '+15550001111' },
      { verb: 'Hangup' },
    ]);
  });

  it('accepts whitespace, comments, single quotes and a bare Dial number', () => {
    const xml = `<?xml version="1.0"?>\n<!-- hi -->\n<Response>\n  <Dial>\n +15550100 </Dial>\n <Say language='en-GB'>Bye &#x263A;</Say>\n</Response>\n`;
    expect(parseVoiceTwiml(xml)).toEqual([
      { verb: 'Dial', target: '+15550100' },
      { verb: 'Say', text: 'Bye ☺', language: 'en-GB' },
    ]);
    expect(parseVoiceTwiml('<Response/>')).toEqual([]);
  });

  it.each([
    ['<Response><Gather/></Response>', /<Gather> is not a verb the simulator runs/],
    ['<Response><Say>hi</Response>', /<\/Response> does not close <Say>/],
    ['<Response><Say>hi</Say>', /<Response> is never closed/],
    ['<Reply/>', /root element is <Reply>/],
    ['<Response><Connect><ConversationRelay url="wss://x"/></Connect></Response>', /<Connect> must hold exactly one <Stream>/],
    ['<Response><Connect><Stream url="wss://x/s?token=1"/></Connect></Response>', /query strings/],
    ['<Response><Connect><Stream/></Connect></Response>', /<Stream> needs a url/],
    ['<Response><Connect><Stream url="wss://x"><Parameter name="a"/></Stream></Connect></Response>', /<Parameter> needs name and value/],
    ['<Response><Say>a & b</Say></Response>', /bare "&"/],
    ['<Response><Say a="1" a="2">x</Say></Response>', /repeats the attribute a/],
    ['<Response>hello</Response>', /<Response> may not hold text/],
    ['<Response/><Response/>', /exactly one root element/],
    ['', /exactly one root element/],
  ])('rejects %s', (xml, message) => {
    expect(() => parseVoiceTwiml(xml)).toThrow(/^twiml_invalid: /);
    expect(() => parseVoiceTwiml(xml)).toThrow(message);
  });
});

describe('readServerFrame (what a server may send on a bidirectional stream)', () => {
  const media = (payload: string, extra: object = {}) => JSON.stringify({ event: 'media', streamSid: SID, media: { payload }, ...extra });

  it('reads media, mark and clear', () => {
    expect(readServerFrame(media(Buffer.from([1, 2, 3]).toString('base64')), false, SID)).toEqual({ event: 'media', payload: new Uint8Array([1, 2, 3]) });
    expect(readServerFrame(JSON.stringify({ event: 'mark', streamSid: SID, mark: { name: 'm1' } }), false, SID)).toEqual({ event: 'mark', name: 'm1' });
    expect(readServerFrame(JSON.stringify({ event: 'clear', streamSid: SID }), false, SID)).toEqual({ event: 'clear' });
  });

  it.each([
    ['a binary frame', Buffer.from('{}'), true, 31950, /binary frame/],
    ['text that is not JSON', 'hello', false, 31951, /JSON format/],
    ['an unknown event', JSON.stringify({ event: 'start', streamSid: SID }), false, 31951, /unknown message type "start"/],
    ['another stream SID', JSON.stringify({ event: 'clear', streamSid: 'MZ0' }), false, 31951, /wrong Stream SID/],
    ['a misspelled field', JSON.stringify({ event: 'media', streamSid: SID, media: { paylod: 'AA==' } }), false, 31951, /extra field\(s\) paylod/],
    ['an extra top-level field', media('AA==', { sequenceNumber: '1' }), false, 31951, /extra field\(s\) sequenceNumber/],
    ['a mark without a name', JSON.stringify({ event: 'mark', streamSid: SID, mark: {} }), false, 31951, /mark.name is missing/],
    ['a payload that is not base64', media('not base64!'), false, 31924, /not valid base64/],
    ['a WAV file', media(Buffer.from('RIFF\0\0\0\0WAVE').toString('base64')), false, 31924, /WAV \(RIFF\) header/],
  ] as const)('flags %s', (_what, data, binary, code, reason) => {
    const v = readServerFrame(data, binary, SID);
    expect(v).toMatchObject({ code });
    expect((v as { reason: string }).reason).toMatch(reason);
  });
});

describe('μ-law and resampling', () => {
  it('matches G.711 reference points and round-trips within the codec step', () => {
    expect(mulawFromSample(0)).toBe(0xff);
    expect(sampleFromMulaw(0xff)).toBe(0);
    expect(mulawFromSample(32767)).toBe(0x80);
    expect(mulawFromSample(-32768)).toBe(0x00);
    expect(sampleFromMulaw(0x80)).toBe(32124);
    expect(sampleFromMulaw(0x00)).toBe(-32124);
    for (const s of [-20000, -1000, -50, 7, 300, 4000, 31000]) {
      expect(Math.abs(sampleFromMulaw(mulawFromSample(s)) - s)).toBeLessThanOrEqual(Math.max(8, Math.abs(s) / 16));
    }
  });

  it('keeps speech-band tones and filters out what would alias when going from 16 kHz to 8 kHz', () => {
    const tone = (hz: number) => Int16Array.from({ length: 16000 }, (_, i) => Math.round(10000 * Math.sin((2 * Math.PI * hz * i) / 16000)));
    const kept = mulawRms(mulawEncode(downsampleTo8k(tone(1000), 16000)));
    const aliased = mulawRms(mulawEncode(downsampleTo8k(tone(6000), 16000)));
    expect(downsampleTo8k(tone(1000), 16000)).toHaveLength(8000);
    expect(kept).toBeGreaterThan(6500);
    expect(aliased).toBeLessThan(500);
    expect(() => downsampleTo8k(new Int16Array(10), 11025)).toThrow(/audio_rate_unsupported/);
    expect(mulawDecode(mulawEncode(Int16Array.of(0, 0)))).toEqual(Int16Array.of(0, 0));
  });
});

describe('reaching the server behind its public URL', () => {
  it('maps public URLs (http and ws) to the local address and leaves others alone', () => {
    const reach = reachVia('https://op.example.com/', 'http://127.0.0.1:8080');
    expect(reach('https://op.example.com/twilio/voice')).toBe('http://127.0.0.1:8080/twilio/voice');
    expect(reach('https://op.example.com.evil/twilio/voice')).toBe('https://op.example.com.evil/twilio/voice');
    expect(reachStream(reach, 'wss://op.example.com/twilio/media-stream')).toBe('ws://127.0.0.1:8080/twilio/media-stream');
    expect(resolveStreamUrl('/twilio/media-stream', 'https://op.example.com/twilio/voice')).toBe('wss://op.example.com/twilio/media-stream');
    expect(() => resolveStreamUrl('/s', undefined)).toThrow(/relative/);
  });
});
