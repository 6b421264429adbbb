/**
 * Local fakes of the cloud speech vendors, each a real server on 127.0.0.1 speaking the vendor's
 * documented wire protocol, for tests of the voice adapters (and anything built on them).
 */
export { CartesiaFake, type CartesiaContextRecord, type CartesiaConnectionRecord, type CartesiaErrorEvent, type CartesiaFakeOptions } from './cartesia.ts';
export {
  DeepgramFake,
  type DeepgramConnectionRecord,
  type DeepgramFakeOptions,
  type DeepgramStep,
  type DeepgramUtteranceScript,
} from './deepgram.ts';
export {
  OPENAI_PCM_RATE,
  OpenAiSpeechFake,
  parseWav,
  type OpenAiFault,
  type OpenAiSpeechFakeOptions,
  type SpeechRequestRecord,
  type TranscriptionRecord,
  type WavInfo,
} from './openai.ts';
export { toneBytes, Watch } from './server.ts';
