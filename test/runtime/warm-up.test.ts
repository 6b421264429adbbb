import { describe, expect, it } from 'vitest';
import { warmUp } from '../../src/runtime/worker/warm-up.ts';

describe('worker warm-up', () => {
  it("runs a scripted voice turn through to the pipeline's first audio frame, and can run again", async () => {
    expect(await warmUp()).toEqual({ reachedAudio: true });
    expect(await warmUp()).toEqual({ reachedAudio: true });
  });
});
