import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { TwilioSimulator } from '../src/testing/twilio-simulator.ts';
import { asyncConditions, asyncConfig, benchDir, spawnAsyncServer } from './lib/async-server.ts';
import {
  Replies, benchDatabaseUrl, getConversation, openBenchStore, pgScratch, phoneOf, seedSmsConversation, textIn, twilioEnv,
  type ConversationJson, type PgScratch,
} from './lib/async-sms.ts';
import { sleep, waitForPool } from './lib/fleet.ts';
import { cpuWindow } from './lib/proc.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { explain } from './lib/server.ts';
import { round, summarize, type Summary } from './lib/stats.ts';

/**
 * Resume latency of an async conversation (issue 3, DESIGN.md "Performance budgets"): a customer
 * texts a conversation that is suspended in the store with a long history; measured from the
 * webhook's HTTP 200 (the text is stored and its turn queued) to the reply's arrival at Twilio's
 * REST API (a TwilioSimulator in this process), so it includes the turn job, the worker
 * activation with the whole history, the commit of the answer and the REST hop. The model is
 * scripted with no delay ("Sure."), so every millisecond is the platform's.
 *
 * The histories (`conversations` customers, each with a suspended SMS conversation of
 * `historyItems` items) are written straight into the store before the server starts
 * (bench/lib/async-sms.ts `seedSmsConversation`: what the server itself leaves behind); warm-up
 * texts then go through the real webhook. Texts go round robin over the conversations, so each
 * history grows by only 2 × messages / conversations items during the run, one at a time, each
 * once the previous reply arrived and the warm pool has refilled (a customer's texts come seconds
 * apart, not back to back).
 * Embedded (SQLite) always; Postgres too when BENCH_DATABASE_URL or OPERATOR_TEST_DATABASE_URL is
 * set (a fresh schema and pg-boss schema, dropped afterwards).
 */
const FULL = { poolSize: 4, conversations: 25, historyItems: 200, warmup: 50, messages: 500, gapMs: 50 };
const QUICK = { poolSize: 4, conversations: 5, historyItems: 200, warmup: 10, messages: 40, gapMs: 20 };
type Params = typeof FULL;

const TARGET = { op: '<' as const, value: 50, source: 'issue #3 "Benchmark"; DESIGN.md "Performance budgets" (p95 < 50 ms embedded)' };

interface Sample {
  /** POST sent → its 200 read (the text is durable and its turn queued). */
  acceptMs: number;
  /** The 200 → the reply at the simulator. The figure. */
  resumeMs: number;
  /** POST sent → the reply at the simulator. */
  roundTripMs: number;
  /** The reply's `simAtMs`, to pair with the server's timestamps. */
  simAtMs: number;
  text: string;
}

interface VariantResult {
  store: string;
  resumeMs: Summary;
  acceptMs: Summary;
  roundTripMs: Summary;
  serverSide: Record<string, unknown>;
  firstTenthP50Ms: number;
  lastTenthP50Ms: number;
  conversations: number;
  /** Items per conversation (min–max) before and after the measured texts. */
  historyItemsBefore: string;
  historyItemsAfter: string;
  serverStartupMs: number;
  serverCpuMsPerMessage: number;
  clientCpuMsPerMessage: number;
  otherProcessesCpuPct: number;
  serverProblems: string[];
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const figures: Figure[] = [];
  const data: Record<string, unknown> = { parameters: p, conditions: asyncConditions(tmpdir(), 'Postgres (when set): a fresh schema and pg-boss schema on BENCH_DATABASE_URL / OPERATOR_TEST_DATABASE_URL') };
  const problems: string[] = [];

  ctx.log(`embedded (SQLite): ${p.conversations} conversations of ${p.historyItems} items, ${p.warmup} warm-up texts, ${p.messages} measured (round robin)`);
  const embedded = await variant(ctx, p);
  data.embedded = embedded;
  problems.push(...embedded.serverProblems);
  figures.push(
    figure('resume_p95_embedded', 'resume p95, embedded (webhook 200 → reply at the Twilio API)', embedded.resumeMs.p95, 'ms', {
      detail: `${latencyDetail(embedded.resumeMs)}; ${embedded.conversations} conversations of ${embedded.historyItemsBefore}→${embedded.historyItemsAfter} items`,
      target: TARGET,
    }),
    figure('resume_p50_embedded', 'resume p50, embedded', embedded.resumeMs.p50, 'ms'),
    serverFigure('embedded', embedded),
  );

  const url = benchDatabaseUrl();
  if (url) {
    ctx.log('Postgres: the same, on a fresh schema');
    const postgres = await variant(ctx, p, url);
    data.postgres = postgres;
    problems.push(...postgres.serverProblems);
    figures.push(
      figure('resume_p95_postgres', 'resume p95, Postgres (webhook 200 → reply at the Twilio API)', postgres.resumeMs.p95, 'ms', {
        detail: latencyDetail(postgres.resumeMs),
      }),
      figure('resume_p50_postgres', 'resume p50, Postgres', postgres.resumeMs.p50, 'ms'),
      serverFigure('postgres', postgres),
    );
  } else {
    ctx.log('Postgres: skipped (set BENCH_DATABASE_URL or OPERATOR_TEST_DATABASE_URL)');
    data.postgres = 'skipped: neither BENCH_DATABASE_URL nor OPERATOR_TEST_DATABASE_URL was set';
  }
  return { figures, data, serverProblems: problems };
}

function serverFigure(kind: string, r: VariantResult): Figure {
  const turn = r.serverSide.turnMs as Summary;
  return figure(`turn_ms_p95_${kind}`, `server-side turn p95, ${kind} (turn job: history read → answer committed, item metrics.turnMs)`, turn.p95, 'ms', {
    detail: latencyDetail(turn),
  });
}

async function variant(ctx: BenchContext, p: Params, pgUrl?: string): Promise<VariantResult> {
  const dir = benchDir();
  let scratch: PgScratch | undefined;
  try {
    scratch = pgUrl ? await pgScratch(pgUrl, 'resume') : undefined;
    const store = await openBenchStore(dir, scratch?.databaseUrl);
    const phones = Array.from({ length: p.conversations }, (_, i) => phoneOf(i));
    const seeded = await Promise.all(phones.map((phone) => seedSmsConversation(store, phone, p.historyItems))).finally(() => store.close());
    const sim = await TwilioSimulator.start();
    const replies = new Replies(sim);
    const server = await spawnAsyncServer({ config: asyncConfig(p.poolSize), dir, env: { ...twilioEnv(sim), ...scratch?.env }, nodeArgs: ctx.serverNodeArgs });
    try {
      const sent = new Map<string, number>();
      const exchange = async (phone: string, text: string): Promise<Sample> => {
        await waitForPool(server, p.poolSize);
        await sleep(p.gapMs);
        const index = sent.get(phone) ?? 0;
        sent.set(phone, index + 1);
        const inbound = await textIn(server.url, sim, phone, text);
        const reply = await replies.nth(phone, index, 30_000);
        return {
          acceptMs: inbound.acceptedAt - inbound.sentAt,
          resumeMs: reply.at - inbound.acceptedAt,
          roundTripMs: reply.at - inbound.sentAt,
          simAtMs: reply.simAtMs,
          text,
        };
      };
      // Round robin over the conversations, so each one's history grows by only a few items.
      for (let i = 0; i < p.warmup; i++) await exchange(phones[i % phones.length]!, `warm-up text ${i}`);
      const before = await Promise.all(seeded.map((c) => getConversation(server.url, c.conversationId)));
      before.forEach((conv, c) => {
        const expected = seeded[c]!.items + 2 * Math.ceil((p.warmup - c) / phones.length);
        if (conv.status !== 'suspended') throw new Error(`conversation ${conv.id} is ${conv.status} after the warm-up, not suspended`);
        if (conv.items.length !== expected) throw new Error(`the warm-up did not resume the seeded conversation ${conv.id} (${conv.items.length} items, expected ${expected})`);
      });
      const samples: Sample[] = [];
      const cpu = cpuWindow(server.pid);
      for (let i = 0; i < p.messages; i++) samples.push(await exchange(phones[i % phones.length]!, `measured text ${i}`));
      const used = cpu();
      const after = await Promise.all(seeded.map((c) => getConversation(server.url, c.conversationId)));
      const tenth = Math.max(1, Math.floor(samples.length / 10));
      return {
        store: scratch ? `${scratch.where}, fresh schemas ${scratch.schema} + ${scratch.queueSchema} (dropped after)` : 'sqlite',
        resumeMs: summarize(samples.map((s) => s.resumeMs)),
        firstTenthP50Ms: summarize(samples.slice(0, tenth).map((s) => s.resumeMs)).p50,
        lastTenthP50Ms: summarize(samples.slice(-tenth).map((s) => s.resumeMs)).p50,
        acceptMs: summarize(samples.map((s) => s.acceptMs)),
        roundTripMs: summarize(samples.map((s) => s.roundTripMs)),
        serverSide: serverSide(after, samples),
        conversations: seeded.length,
        historyItemsBefore: range(before.map((c) => c.items.length)),
        historyItemsAfter: range(after.map((c) => c.items.length)),
        serverStartupMs: Math.round(server.startupMs),
        serverCpuMsPerMessage: round((used.serverCpuS * 1000) / samples.length),
        clientCpuMsPerMessage: round((used.clientCpuS * 1000) / samples.length),
        otherProcessesCpuPct: round(used.otherCpuPct, 1),
        serverProblems: server.problems(),
      };
    } catch (err) {
      throw explain(server, err);
    } finally {
      await server.stop();
      replies.close();
      await sim.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

function range(xs: number[]): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}

/**
 * What the server itself recorded for each measured text (GET /v1/conversations/{id}): the
 * answer's `metrics.turnMs` (the turn job from reading the history to the answer committed,
 * sub-millisecond), and with millisecond timestamps on the one machine clock, the text stored →
 * answer committed and the text stored → reply created at the simulator.
 */
function serverSide(convs: ConversationJson[], samples: Sample[]): Record<string, unknown> {
  const turnMs: number[] = [];
  const storedToCommittedMs: number[] = [];
  const storedToSimulatorMs: number[] = [];
  const byText = new Map(samples.map((s) => [s.text, s]));
  for (const conv of convs) {
    conv.items.forEach((item, i) => {
      const sample = item.role === 'user' ? byText.get(item.text) : undefined;
      if (!sample) return;
      const answer = conv.items.slice(i + 1).find((x) => x.role === 'agent' && x.type === 'message');
      if (!answer) return;
      if (answer.metrics?.turnMs !== undefined) turnMs.push(answer.metrics.turnMs);
      storedToCommittedMs.push(Date.parse(answer.createdAt) - Date.parse(item.createdAt));
      storedToSimulatorMs.push(sample.simAtMs - Date.parse(item.createdAt));
    });
  }
  return {
    matched: turnMs.length,
    turnMs: summarize(turnMs),
    storedToCommittedMsRes1ms: summarize(storedToCommittedMs),
    storedToSimulatorMsRes1ms: summarize(storedToSimulatorMs),
  };
}

export const asyncResume: Benchmark = {
  name: 'async-resume',
  description: 'SMS to a suspended conversation with a long history: webhook 200 → reply at the Twilio API (scripted model, no delay)',
  run,
};
