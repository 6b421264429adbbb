import { TwilioSimulator } from '../src/testing/twilio-simulator.ts';
import { asyncConditions, asyncConfig, spawnAsyncServer, type AsyncBenchServer } from './lib/async-server.ts';
import { Replies, phoneOf, textIn, twilioEnv } from './lib/async-sms.ts';
import { sleep, waitForPool } from './lib/fleet.ts';
import { cpuWindow } from './lib/proc.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { explain } from './lib/server.ts';
import { round, summarize, type Summary } from './lib/stats.ts';

/**
 * Sustained inbound SMS per second (issue 3 "Benchmark"): `customers` customers, each with a
 * suspended conversation (one text answered during the warm-up), text the server through signed
 * webhooks at a fixed offered rate (open loop: text j leaves at j / rate seconds whatever the
 * server does, customers in rotation, so one customer's texts are customers / rate seconds apart).
 * The rate steps up until the server no longer keeps up; the figure is the highest rate at which
 *
 * - every webhook answered 200 and every text got its own reply within `drainMs` after the last
 *   one was sent (a customer's second text arriving before the first was answered is answered
 *   together with it: that counts as lag here),
 * - the reply latency (webhook 200 → reply at the Twilio API) stayed under `lagP95Ms` at p95,
 * - and did not grow through the step (last quarter's p50 ≤ 3 × first quarter's + 100 ms: a
 *   backlog building up).
 *
 * Once a rate fails, one rate halfway between it and the last sustained one is tried (full runs).
 * Server and load generator share the machine's 2 cores; the client's CPU is recorded.
 */
const FULL = {
  poolSize: 8, customers: 200, warmupLanes: 8, rates: [2, 4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200],
  stepS: 15, drainMs: 10_000, lagP95Ms: 1000, refine: true, pauseMs: 2000,
};
const QUICK = { poolSize: 8, customers: 20, warmupLanes: 4, rates: [5, 10, 20, 40], stepS: 3, drainMs: 3000, lagP95Ms: 1000, refine: false, pauseMs: 500 };
type Params = typeof FULL;

interface Sent {
  phone: string;
  /** Which reply to this customer answers it (0-based, warm-up included). */
  index: number;
  dueAt: number;
  sentAt: number;
  acceptedAt?: number;
  replyAt?: number;
  error?: string;
}

interface Step {
  rate: number;
  sent: number;
  sustained: boolean;
  why: string[];
  replyMs: Summary;
  acceptMs: Summary;
  /** The rate the load generator actually offered (texts / time from the first to one interval after the last). */
  offeredPerS: number;
  /** How late the load generator sent, behind its schedule (it catches up: the schedule is absolute). */
  sendLagMs: Summary;
  firstQuarterP50Ms: number;
  lastQuarterP50Ms: number;
  unanswered: number;
  webhookErrors: number;
  /** Replies per second over the step (first send → last reply). */
  answeredPerS: number;
  serverCpuMsPerMessage: number;
  clientCpuMsPerMessage: number;
  serverCpuPctOfOneCore: number;
  otherProcessesCpuPct: number;
}

class Load {
  private readonly counts = new Map<string, number>();
  private offset = 0;
  readonly phones: string[];
  private readonly server: AsyncBenchServer;
  private readonly sim: TwilioSimulator;
  private readonly replies: Replies;
  private readonly p: Params;

  constructor(server: AsyncBenchServer, sim: TwilioSimulator, replies: Replies, p: Params) {
    this.server = server;
    this.sim = sim;
    this.replies = replies;
    this.p = p;
    this.phones = Array.from({ length: p.customers }, (_, i) => phoneOf(i));
  }

  private send(phone: string, dueAt: number, text: string): { rec: Sent; done: Promise<void> } {
    const index = this.counts.get(phone) ?? 0;
    this.counts.set(phone, index + 1);
    const rec: Sent = { phone, index, dueAt, sentAt: performance.now() };
    const done = textIn(this.server.url, this.sim, phone, text).then(
      (r) => {
        rec.acceptedAt = r.acceptedAt;
      },
      (err: unknown) => {
        rec.error = err instanceof Error ? err.message : String(err);
      },
    );
    return { rec, done };
  }

  /** Every customer texts once (`lanes` at a time) and is answered: their conversations exist and are suspended. */
  async warmup(): Promise<void> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < this.phones.length) {
        const { rec, done } = this.send(this.phones[next++]!, performance.now(), 'hello, first text');
        await done;
        if (rec.error) throw new Error(rec.error);
        await this.replies.nth(rec.phone, rec.index, 60_000);
      }
    };
    await Promise.all(Array.from({ length: this.p.warmupLanes }, lane));
  }

  /**
   * Waits until no reply has arrived for `quietMs` (the backlog of a failed step is worked off),
   * then counts each customer's replies afresh: texts answered together (one reply for several)
   * would otherwise shift which reply answers which text from then on.
   */
  async quiesce(quietMs: number, timeoutMs = 120_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let seen = -1;
    while (seen !== this.replies.total && performance.now() < deadline) {
      seen = this.replies.total;
      await sleep(quietMs);
    }
    for (const phone of this.phones) this.counts.set(phone, this.replies.count(phone));
  }

  async step(rate: number): Promise<Step> {
    const n = Math.max(4, Math.round(rate * this.p.stepS));
    const records: Sent[] = [];
    const pending: Promise<void>[] = [];
    const cpu = cpuWindow(this.server.pid);
    const t0 = performance.now();
    for (let j = 0; j < n; j++) {
      const dueAt = t0 + (j * 1000) / rate;
      const wait = dueAt - performance.now();
      if (wait > 1) await sleep(wait);
      const { rec, done } = this.send(this.phones[(this.offset + j) % this.phones.length]!, dueAt, `text at ${rate}/s, #${j}`);
      records.push(rec);
      pending.push(done);
    }
    this.offset += n;
    await Promise.all(pending);
    const deadline = performance.now() + this.p.drainMs;
    await Promise.all(
      records.map(async (r) => {
        if (r.error) return;
        try {
          r.replyAt = (await this.replies.nth(r.phone, r.index, Math.max(1, deadline - performance.now()))).at;
        } catch {
          // unanswered within the drain: counted below
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    const used = cpu();
    return this.judge(rate, records, used, wallS, t0);
  }

  private judge(rate: number, records: Sent[], used: ReturnType<ReturnType<typeof cpuWindow>>, wallS: number, t0: number): Step {
    const answered = records.filter((r) => r.replyAt !== undefined && r.acceptedAt !== undefined);
    const replyMs = answered.map((r) => r.replyAt! - r.acceptedAt!);
    const q = Math.max(1, Math.floor(answered.length / 4));
    const firstQuarterP50Ms = summarize(replyMs.slice(0, q)).p50;
    const lastQuarterP50Ms = summarize(replyMs.slice(-q)).p50;
    const webhookErrors = records.filter((r) => r.error).length;
    const unanswered = records.length - webhookErrors - answered.length;
    const s = summarize(replyMs);
    const sendLag = summarize(records.map((r) => r.sentAt - r.dueAt));
    const why: string[] = [];
    if (webhookErrors > 0) why.push(`${webhookErrors} webhook(s) failed: ${records.find((r) => r.error)?.error}`);
    if (unanswered > 0) why.push(`${unanswered} text(s) without their own reply ${this.p.drainMs} ms after the last send`);
    if (!(s.p95 <= this.p.lagP95Ms)) why.push(`reply p95 ${s.p95} ms > ${this.p.lagP95Ms} ms`);
    if (lastQuarterP50Ms > 3 * firstQuarterP50Ms + 100) why.push(`latency grew through the step (p50 ${firstQuarterP50Ms} → ${lastQuarterP50Ms} ms)`);
    // Sends follow an absolute schedule, so a stalled load generator catches up; what must hold is the rate.
    const offeredPerS = records.length / ((Math.max(...records.map((r) => r.sentAt)) - t0) / 1000 + 1 / rate);
    if (offeredPerS < 0.95 * rate) why.push(`the load generator offered only ${round(offeredPerS, 1)}/s: client-limited`);
    const lastReply = Math.max(...answered.map((r) => r.replyAt!));
    return {
      rate,
      sent: records.length,
      sustained: why.length === 0,
      why,
      replyMs: s,
      acceptMs: summarize(answered.map((r) => r.acceptedAt! - r.sentAt)),
      offeredPerS: round(offeredPerS, 1),
      sendLagMs: sendLag,
      firstQuarterP50Ms,
      lastQuarterP50Ms,
      unanswered,
      webhookErrors,
      answeredPerS: answered.length > 0 ? round(answered.length / ((lastReply - t0) / 1000), 1) : 0,
      serverCpuMsPerMessage: round((used.serverCpuS * 1000) / records.length),
      clientCpuMsPerMessage: round((used.clientCpuS * 1000) / records.length),
      serverCpuPctOfOneCore: round((used.serverCpuS / wallS) * 100, 1),
      otherProcessesCpuPct: round(used.otherCpuPct, 1),
    };
  }
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const sim = await TwilioSimulator.start();
  const replies = new Replies(sim);
  const server = await spawnAsyncServer({ config: asyncConfig(p.poolSize), env: twilioEnv(sim), nodeArgs: ctx.serverNodeArgs });
  try {
    const load = new Load(server, sim, replies, p);
    ctx.log(`warm-up: ${p.customers} customers text once each`);
    const w0 = performance.now();
    await load.warmup();
    const warmupS = (performance.now() - w0) / 1000;
    const steps: Step[] = [];
    const runStep = async (rate: number): Promise<Step> => {
      await load.quiesce(p.pauseMs);
      await waitForPool(server, p.poolSize);
      const s = await load.step(rate);
      steps.push(s);
      ctx.log(`${rate}/s × ${p.stepS} s: ${s.sustained ? 'sustained' : 'NOT sustained'}; reply p50 ${s.replyMs.p50} / p95 ${s.replyMs.p95} ms, server CPU ${s.serverCpuPctOfOneCore} % of a core${s.why.length ? ` — ${s.why.join('; ')}` : ''}`);
      return s;
    };
    let best: Step | undefined;
    let failed: Step | undefined;
    for (const rate of p.rates) {
      const s = await runStep(rate);
      if (!s.sustained) {
        failed = s;
        break;
      }
      best = s;
    }
    if (p.refine && failed && best) {
      const mid = Math.round((best.rate + failed.rate) / 2);
      if (mid > best.rate && mid < failed.rate) {
        const s = await runStep(mid);
        if (s.sustained) best = s;
      }
    }
    return { figures: figures(p, best, failed), data: { parameters: p, conditions: asyncConditions(server.dataDir), warmupS: round(warmupS, 1), serverStartupMs: Math.round(server.startupMs), best: best?.rate ?? 0, steps }, serverProblems: server.problems() };
  } catch (err) {
    throw explain(server, err);
  } finally {
    await server.stop();
    replies.close();
    await sim.close();
  }
}

function figures(p: Params, best: Step | undefined, failed: Step | undefined): Figure[] {
  const ceiling = failed ? `fails at ${failed.rate}/s: ${failed.why.join('; ')}` : `never failed up to ${p.rates.at(-1)}/s (raise the rates)`;
  if (!best) {
    return [figure('sustained_sms_per_s', `sustained inbound SMS/s, ${p.customers} customers, every text answered`, 0, 'msg/s', { detail: `no rate sustained; ${ceiling}` })];
  }
  return [
    figure('sustained_sms_per_s', `sustained inbound SMS/s, ${p.customers} customers, every text answered`, best.rate, 'msg/s', {
      detail: `${ceiling}; server CPU ${best.serverCpuMsPerMessage} ms/text, client ${best.clientCpuMsPerMessage} ms/text`,
    }),
    figure('sustained_reply_p95', `reply latency p95 at ${best.rate} SMS/s (webhook 200 → reply at the Twilio API)`, best.replyMs.p95, 'ms', {
      detail: `${latencyDetail(best.replyMs)}; other processes ${best.otherProcessesCpuPct} % CPU`,
    }),
  ];
}

export const asyncThroughput: Benchmark = {
  name: 'async-throughput',
  description: 'sustained inbound SMS per second (signed webhooks, many customers, rate stepped up until replies lag)',
  run,
};
