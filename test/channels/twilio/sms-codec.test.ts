import { describe, expect, it } from 'vitest';
import { parseForm } from '../../../src/channels/twilio/form.ts';
import { keyword, parseInboundSms, parseSmsStatus, smsStatusAdvances, twimlEmpty } from '../../../src/channels/twilio/sms-codec.ts';
import { OperatorError } from '../../../src/core/errors.ts';

const AC = 'AC3b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e';
const SM = 'SM7c1f0d5b9e3a4c2b8d6e0f1a2b3c4d5e';
const MM = 'MM0a1b2c3d4e5f60718293a4b5c6d7e8f9';

// Bodies in the shape Twilio posts them: the key order of a captured webhook (protocols.md §3.1),
// `+` as %2B, spaces as `+`.
const SMS_BODY =
  'ToCountry=US&ToState=CA&SmsMessageSid=' + SM + '&NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=' + SM +
  '&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Where%27s+my+order+%23A12345%3F&FromCountry=US' +
  '&To=%2B15557654321&ToZip=94105&NumSegments=1&MessageSid=' + SM + '&AccountSid=' + AC + '&From=%2B15550001111&ApiVersion=2010-04-01';

const MMS_BODY =
  'ToCountry=US&MediaContentType0=image%2Fjpeg&ToState=CA&SmsMessageSid=' + MM + '&NumMedia=2&ToCity=&FromZip=&SmsSid=' + MM +
  '&FromState=&SmsStatus=received&FromCity=&Body=Here+are+the+photos&FromCountry=US&To=%2B15557654321' +
  '&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2F' + AC + '%2FMessages%2F' + MM + '%2FMedia%2FME0' +
  '&MediaContentType1=image%2Fpng&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2F' + AC + '%2FMessages%2F' + MM + '%2FMedia%2FME1' +
  '&ToZip=&NumSegments=1&MessageSid=' + MM + '&AccountSid=' + AC + '&From=%2B15550001111&ApiVersion=2010-04-01';

const STATUS_BODY =
  'SmsSid=' + SM + '&SmsStatus=undelivered&MessageStatus=undelivered&To=%2B15550001111&MessageSid=' + SM +
  '&AccountSid=' + AC + '&From=%2B15557654321&ApiVersion=2010-04-01&ErrorCode=30003';

function rejection(fn: () => unknown): OperatorError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorError);
    return err as OperatorError;
  }
  throw new Error('expected the call to throw');
}

describe('parseInboundSms', () => {
  it('reads a recorded SMS webhook', () => {
    expect(parseInboundSms(parseForm(SMS_BODY))).toEqual({
      messageSid: SM,
      accountSid: AC,
      from: '+15550001111',
      to: '+15557654321',
      body: "Where's my order #A12345?",
      media: [],
      numSegments: 1,
    });
  });

  it('reads a recorded MMS webhook with two media, in index order', () => {
    const sms = parseInboundSms(parseForm(MMS_BODY));
    expect(sms.messageSid).toBe(MM);
    expect(sms.body).toBe('Here are the photos');
    expect(sms.media).toEqual([
      { url: `https://api.twilio.com/2010-04-01/Accounts/${AC}/Messages/${MM}/Media/ME0`, contentType: 'image/jpeg' },
      { url: `https://api.twilio.com/2010-04-01/Accounts/${AC}/Messages/${MM}/Media/ME1`, contentType: 'image/png' },
    ]);
  });

  it('accepts an MMS without text and ignores parameters it does not know', () => {
    const form = { ...parseForm(MMS_BODY), Body: '', SomethingNew: 'x' };
    expect(parseInboundSms(form).body).toBe('');
  });

  it.each([
    ['a MessageSid of the wrong shape', { MessageSid: 'SM123' }, /MessageSid must be SM or MM/],
    ['an upper-case hex MessageSid', { MessageSid: SM.toUpperCase() }, /MessageSid/],
    ['a missing MessageSid', { MessageSid: undefined }, /MessageSid is required/],
    ['a missing From', { From: undefined }, /From is required/],
    ['an empty To', { To: '' }, /To is required/],
    ['a bad AccountSid', { AccountSid: 'ACnope' }, /AccountSid/],
    ['a non-numeric NumMedia', { NumMedia: 'two' }, /NumMedia must be a whole number/],
    ['NumMedia over 10', { NumMedia: '11' }, /NumMedia must be at most 10/],
    ['a missing MediaUrl', { NumMedia: '3' }, /MediaUrl2 is required/],
    ['a media URL that is not http(s)', { MediaUrl1: 'javascript:alert(1)' }, /MediaUrl1 must be an http\(s\) URL/],
    ['a missing content type', { MediaContentType0: undefined }, /MediaContentType0 is required/],
    ['a repeated Body', { Body: ['a', 'b'] }, /Body must be a single value/],
    ['a control character in From', { From: '+1555\u0000' }, /From contains control characters/],
  ])('rejects %s with invalid_sms_webhook', (_name, patch, message) => {
    const form: Record<string, string | string[] | undefined> = { ...parseForm(MMS_BODY), ...patch };
    const err = rejection(() => parseInboundSms(form));
    expect(err.code).toBe('invalid_sms_webhook');
    expect(err.kind).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });

  it('rejects oversized input: a body over 1,600 characters, a huge parameter, too many parameters', () => {
    const base = parseForm(SMS_BODY);
    expect(parseInboundSms({ ...base, Body: 'x'.repeat(1600) }).body).toHaveLength(1600);
    expect(parseInboundSms({ ...base, Body: '😀'.repeat(1600) }).body).toHaveLength(3200); // 1,600 characters
    expect(rejection(() => parseInboundSms({ ...base, Body: 'x'.repeat(1601) })).message).toMatch(/longer than 1600/);
    expect(rejection(() => parseInboundSms({ ...base, ToCity: 'x'.repeat(10_000) })).message).toMatch(/ToCity is longer/);
    const many = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`P${i}`, '']));
    expect(rejection(() => parseInboundSms({ ...base, ...many })).message).toMatch(/parameters/);
  });

  it('rejects a body that is not a Twilio webhook at all', () => {
    expect(rejection(() => parseInboundSms(parseForm('hello=world'))).code).toBe('invalid_sms_webhook');
    expect(rejection(() => parseInboundSms({})).code).toBe('invalid_sms_webhook');
  });
});

describe('parseSmsStatus', () => {
  it('reads a recorded status callback with its error code', () => {
    expect(parseSmsStatus(parseForm(STATUS_BODY))).toEqual({
      messageSid: SM,
      status: 'undelivered',
      accountSid: AC,
      errorCode: 30003,
      from: '+15557654321',
      to: '+15550001111',
    });
  });

  it('falls back to SmsStatus and rejects unknown statuses and sids', () => {
    expect(parseSmsStatus({ MessageSid: SM, SmsStatus: 'delivered' }).status).toBe('delivered');
    expect(rejection(() => parseSmsStatus({ MessageSid: SM, MessageStatus: 'exploded' })).message).toMatch(/MessageStatus must be one of/);
    expect(rejection(() => parseSmsStatus({ MessageSid: 'CA' + 'a'.repeat(32), MessageStatus: 'sent' })).code).toBe('invalid_sms_webhook');
  });

  it('orders statuses so that a late "sent" does not undo "delivered"', () => {
    expect(smsStatusAdvances(undefined, 'queued')).toBe(true);
    expect(smsStatusAdvances('queued', 'sent')).toBe(true);
    expect(smsStatusAdvances('sent', 'delivered')).toBe(true);
    expect(smsStatusAdvances('delivered', 'sent')).toBe(false);
    expect(smsStatusAdvances('failed', 'delivered')).toBe(false);
    expect(smsStatusAdvances('delivered', 'read')).toBe(true);
  });
});

describe('keyword', () => {
  it.each([
    ['STOP', 'stop'],
    ['stop', 'stop'],
    ['  Stop \n', 'stop'],
    ['Stop.', 'stop'],
    ['stopall', 'stop'],
    ['UNSUBSCRIBE', 'stop'],
    ['cancel', 'stop'],
    ['End', 'stop'],
    ['quit', 'stop'],
    ['START', 'start'],
    ['yes', 'start'],
    ['Unstop', 'start'],
    ['help', 'help'],
    ['INFO!', 'help'],
  ])('%j is %s', (body, expected) => {
    expect(keyword(body)).toBe(expected);
  });

  it.each(['STOP PLEASE', 'please stop', 'stopped', 'yes please', 'help me', '', 'constructor', 'toString'])('%j is no keyword', (body) => {
    expect(keyword(body)).toBeUndefined();
  });
});

describe('twimlEmpty', () => {
  it('is an empty TwiML response', () => {
    expect(twimlEmpty()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
  });
});
