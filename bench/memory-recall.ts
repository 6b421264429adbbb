import { rmSync } from 'node:fs';
import type * as ConfigModule from '../src/config/index.ts';
import type { AgentSpec } from '../src/core/agent.ts';
import type { Channel, Conversation, Item } from '../src/core/conversation.ts';
import type * as Ids from '../src/core/ids.ts';
import type { CustomerMemory } from '../src/core/memory.ts';
import type * as EngineModule from '../src/engine/index.ts';
import type * as RecallModule from '../src/runtime/memory/recall.ts';
import type * as SummariseModule from '../src/runtime/memory/summarise.ts';
import type { Store } from '../src/store/index.ts';
import { ASYNC_MODEL, benchDir, filesystemOf } from './lib/async-server.ts';
import { openBenchStore, serverModule } from './lib/async-sms.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { round, summarize } from './lib/stats.ts';

/**
 * Customer memory at conversation start (issue 5 "Benchmark"): the time to assemble what a new
 * conversation is given about its customer (`assembleMemory`: the summaries of their conversations
 * ended in the recall window, the last messages of their most recent one, fitted to the agent's
 * token budget) for a customer with 200 past conversations in the window, and a check that the
 * block rendered into the system prompt stays within that budget.
 *
 * Measured in the bench process, against a real SQLite store (the server's own code and store:
 * `openStore` on a data folder of the benchmark's, WAL, the same pragmas), not through a server:
 * the server calls exactly this function when a conversation starts (`memoryAtStart`), and a
 * round trip through it would add the session start, which is not what the issue asks for. The
 * store holds, besides the customer's 200 conversations in the window, older ones out of it and
 * other customers' conversations, each ended and summarised by the product's own
 * `summariseConversation` (what ending a conversation does).
 */
const FULL = { inWindow: 200, outOfWindow: 50, messagesEach: 6, otherCustomers: 200, otherEach: 10, warmup: 200, iterations: 3000 };
const QUICK = { inWindow: 200, outOfWindow: 20, messagesEach: 6, otherCustomers: 20, otherEach: 10, warmup: 50, iterations: 400 };
type Params = typeof FULL;

const DAY = 86_400_000;
const TARGET_PHONE = '+15559000001';
const CHANNELS: Channel[] = ['sms', 'chat', 'voice', 'email'];
const REASONS = ['agent', 'timeout', 'client', 'caller_hangup'];
const ASKS = [
  'Where is my order A{n}? It was supposed to arrive on Monday and the tracking page has not moved since Friday.',
  'I would like to change the delivery address of order B{n} to 12 Harbour Street, flat 3.',
  'The kettle I bought last month (model K{n}) stopped heating. Can I get it replaced under warranty?',
  'Can you cancel my subscription renewal? I was charged twice this month.',
];
const ANSWERS = [
  "I'll email you the tracking number as soon as the carrier updates it.",
  'Done: the address is updated and the courier has been told.',
  "I've opened a warranty claim; I will call you tomorrow to arrange the pickup.",
  'The duplicate charge is refunded; it takes 3 to 5 days to show.',
];

interface Modules {
  newId: typeof Ids.newId;
  summarise: typeof SummariseModule.summariseConversation;
  assembleMemory: typeof RecallModule.assembleMemory;
  engine: typeof EngineModule;
  agent: AgentSpec;
}

async function modules(): Promise<Modules> {
  const { newId } = await serverModule<typeof Ids>('src/core/ids.ts');
  const { summariseConversation } = await serverModule<typeof SummariseModule>('src/runtime/memory/summarise.ts');
  const { assembleMemory } = await serverModule<typeof RecallModule>('src/runtime/memory/recall.ts');
  const engine = await serverModule<typeof EngineModule>('src/engine/index.ts');
  const { buildConfig } = await serverModule<typeof ConfigModule>('src/config/index.ts');
  // The agent with the product's default memory settings (14-day window, 1,500 tokens, 6 verbatim messages).
  const config = buildConfig({ agents: { bench: { instructions: 'You are a benchmark agent.', model: ASYNC_MODEL } } }, 'bench-memory-recall');
  return { newId, summarise: summariseConversation, assembleMemory, engine, agent: config.agents[0]! };
}

/** One ended conversation of `customerId`, `endedAt` ms ago, with its messages; summarised as ending one does. */
async function seedConversation(store: Store, m: Modules, customerId: string, k: number, endedAt: number, messages: number): Promise<string> {
  const start = endedAt - 20 * 60_000;
  const channel = CHANNELS[k % CHANNELS.length]!;
  const conv: Conversation = {
    id: m.newId('conv', start), agent: m.agent.id, channel, mode: channel === 'sms' || channel === 'email' ? 'async' : 'realtime',
    status: 'active', customerId, context: {}, createdAt: start, updatedAt: start,
  };
  await store.transaction(async (tx) => {
    await tx.conversations.create(conv);
    for (let i = 0; i < messages; i++) {
      const t = start + i * 60_000;
      const user = i % 2 === 0;
      const text = user
        ? (i === 0 ? ASKS[k % ASKS.length]!.replace('{n}', String(10_000 + k)) : `Thanks. One more thing about ${10_000 + k}: is there anything else you need from me?`)
        : ANSWERS[(k + i) % ANSWERS.length]!;
      const item: Item = { id: m.newId('itm', t), conversationId: conv.id, role: user ? 'user' : 'agent', type: 'message', text, interrupted: false, createdAt: t };
      await tx.items.append(item);
    }
    await tx.conversations.end(conv.id, REASONS[k % REASONS.length]!, endedAt);
  });
  await m.summarise(store, conv.id);
  return conv.id;
}

/** Seeds in parallel chunks: concurrent writes share one group commit (one fsync). */
async function seedMany(n: number, each: (k: number) => Promise<unknown>): Promise<void> {
  const CHUNK = 50;
  for (let i = 0; i < n; i += CHUNK) await Promise.all(Array.from({ length: Math.min(CHUNK, n - i) }, (_, j) => each(i + j)));
}

async function seed(store: Store, m: Modules, p: Params, now: number): Promise<{ customerId: string; conversationId: string; summaries: number }> {
  const target = await store.customers.findOrCreate({ phone: TARGET_PHONE }, now - 60 * DAY);
  // Out of the 14-day window: 15 to 60 days ago.
  await seedMany(p.outOfWindow, (k) => seedConversation(store, m, target.id, k, now - 15 * DAY - k * 3_600_000, p.messagesEach));
  // In the window: the last 13 days, newest an hour ago.
  const spacing = Math.floor((13 * DAY) / p.inWindow);
  await seedMany(p.inWindow, (k) => seedConversation(store, m, target.id, k, now - 3_600_000 - k * spacing, p.messagesEach));
  await seedMany(p.otherCustomers, async (c) => {
    const other = await store.customers.findOrCreate({ phone: `+1555800${String(c).padStart(4, '0')}` }, now - 30 * DAY);
    for (let k = 0; k < p.otherEach; k++) await seedConversation(store, m, other.id, k, now - 3_600_000 - k * DAY, p.messagesEach);
  });
  // The conversation being started now (excluded from its own memory).
  const conv: Conversation = {
    id: m.newId('conv', now), agent: m.agent.id, channel: 'chat', mode: 'realtime', status: 'active', customerId: target.id,
    context: {}, createdAt: now, updatedAt: now,
  };
  await store.conversations.create(conv);
  const summaries = (await store.memory.recall(target.id, { sinceMs: now - m.agent.memory.recallWindowMs, limit: 1000, excludeConversationId: conv.id })).length;
  return { customerId: target.id, conversationId: conv.id, summaries };
}

interface BudgetCheck {
  tokenBudget: number;
  tokens: number;
  headroom: number;
  summariesIncluded: number;
  lastTurnsIncluded: number;
  chars: number;
}

function budgetCheck(m: Modules, memory: CustomerMemory | undefined, tokenBudget: number): BudgetCheck {
  const block = memory ? m.engine.memorySection(memory) : '';
  const tokens = m.engine.estimateTokens(block);
  return {
    tokenBudget, tokens, headroom: tokenBudget - tokens,
    summariesIncluded: memory?.summaries.length ?? 0, lastTurnsIncluded: memory?.lastTurns.length ?? 0, chars: block.length,
  };
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const dir = benchDir('operator-bench-memory-');
  const m = await modules();
  const store = await openBenchStore(dir);
  try {
    const now = Date.now();
    const s0 = performance.now();
    ctx.log(`seeding: ${p.inWindow} conversations in the window (+${p.outOfWindow} older) for one customer, ${p.otherCustomers} × ${p.otherEach} for others`);
    const seeded = await seed(store, m, p, now);
    const seedS = (performance.now() - s0) / 1000;
    if (seeded.summaries !== p.inWindow) throw new Error(`${seeded.summaries} summaries in the window, expected ${p.inWindow}`);
    const target = { agent: m.agent, customerId: seeded.customerId, conversationId: seeded.conversationId, nowMs: now };

    const c0 = performance.now();
    let memory = await m.assembleMemory(store, target);
    const firstMs = performance.now() - c0;
    for (let i = 0; i < p.warmup; i++) await m.assembleMemory(store, target);
    ctx.log(`${p.iterations} assemblies, one after the other`);
    const samples: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < p.iterations; i++) {
      const t = performance.now();
      memory = await m.assembleMemory(store, target);
      samples.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    const render: number[] = [];
    for (let i = 0; i < Math.min(p.iterations, 500); i++) {
      const t = performance.now();
      m.engine.memorySection(memory!);
      render.push(performance.now() - t);
    }
    const assembly = summarize(samples);
    const budgets = [budgetCheck(m, memory, m.agent.memory.tokenBudget)];
    for (const tokenBudget of [300, 4000]) {
      const agent = { ...m.agent, memory: { ...m.agent.memory, tokenBudget } };
      budgets.push(budgetCheck(m, await m.assembleMemory(store, { ...target, agent }), tokenBudget));
    }
    const byDefault = budgets[0]!;
    const worst = Math.min(...budgets.map((b) => b.headroom));
    const figures: Figure[] = [
      figure('memory_assembly_p95', `memory assembly p95, customer with ${p.inWindow} conversations in the window (in-process, SQLite)`, assembly.p95, 'ms', {
        detail: `${latencyDetail(assembly)}; first (cold) ${round(firstMs)} ms`,
        target: { op: '<', value: 20, source: 'issue #5 "Benchmark" (p95 < 20 ms embedded)' },
      }),
      figure('memory_assembly_p50', 'memory assembly p50', assembly.p50, 'ms'),
      figure('memory_budget_headroom', `token budget headroom, worst of ${budgets.map((b) => b.tokenBudget).join(' / ')} tokens`, worst, 'tokens', {
        detail: budgets.map((b) => `${b.tokenBudget}: ${b.tokens} tokens, ${b.summariesIncluded} summaries + ${b.lastTurnsIncluded} messages`).join('; '),
        target: { op: '>=', value: 0, source: 'issue #5 "Benchmark" (its token budget respected)' },
      }),
    ];
    return {
      figures,
      data: {
        parameters: p,
        how: 'assembleMemory() of the measured checkout called in the bench process on a real SQLite store (openStore, WAL), seeded through the store and summariseConversation',
        store: `SQLite (WAL, synchronous=FULL) in a temp folder on ${filesystemOf(dir)}; the bench process is Node ${process.versions.node}`,
        seedS: round(seedS, 1),
        summariesInWindow: seeded.summaries,
        assemblyMs: assembly,
        firstAssemblyMs: round(firstMs),
        renderMs: summarize(render),
        benchCpuMsPerAssembly: round((cpu.user + cpu.system) / 1000 / p.iterations),
        budgets,
        defaultBudgetTokens: byDefault.tokenBudget,
      },
      serverProblems: [],
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const memoryRecall: Benchmark = {
  name: 'memory-recall',
  description: 'customer memory assembled at conversation start, 200 past conversations in the window (in-process, real SQLite store)',
  run,
};
