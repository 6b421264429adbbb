import { ASYNC_AGENT, asyncConditions, asyncConfig, metricSum, metricsText, spawnAsyncServer, type AsyncBenchServer } from './lib/async-server.ts';
import { sleep, waitForPool } from './lib/fleet.ts';
import { mapCount } from './lib/proc.ts';
import { figure, type BenchContext, type BenchOutput, type Benchmark } from './lib/report.ts';
import { explain } from './lib/server.ts';
import { round } from './lib/stats.ts';

/**
 * Memory of the server with 0 and with 10,000 suspended async conversations (issue 3: "no more
 * than with none"; DESIGN.md: 0 per suspended conversation). The conversations are made through
 * the API, as a client would: POST /v1/conversations (channel chat, a customer each, a first
 * message), and the benchmark waits until every one has been answered (the server's turn counter)
 * and is suspended (GET /v1/conversations?status=suspended). Nothing is seeded behind the server's
 * back, so whatever the server keeps per conversation it has handled is in the reading.
 *
 * "None" is the same server after a warm-up: `warmup` conversations made the same way and then
 * ended (POST /v1/conversations/{id}/end), so code loaded and caches filled on first use are in
 * both readings. A reading is taken with the warm pool full, after a pause, after two full GCs of
 * the main thread forced through the V8 inspector (the server runs with --inspect=127.0.0.1:0, a
 * flag the benchmark passes to node): the V8 heap then holds only what is reachable. RSS is
 * reported too, split into anonymous and file/shared pages (SQLite's WAL index is a shared
 * mapping), but it also carries what the allocator and V8 keep after the burst, so the heap is the
 * figure with the target.
 */
const FULL = { poolSize: 4, warmup: 200, steps: [1000, 10_000], lanes: 16, settleMs: 5000 };
const QUICK = { poolSize: 4, warmup: 10, steps: [20, 40], lanes: 8, settleMs: 1000 };
type Params = typeof FULL;

interface Reading {
  label: string;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  rssMb: number;
  rssAnonMb: number;
  rssFileMb: number;
  rssShmemMb: number;
  /** Threads of the server process (main, libuv, V8 helpers, the warm pool's workers). */
  threads: number;
  mappings: number;
}

const mb = (bytes: number): number => round(bytes / 2 ** 20, 2);

async function reading(server: AsyncBenchServer, p: Params, label: string): Promise<Reading> {
  await waitForPool(server, p.poolSize);
  await sleep(p.settleMs);
  const inspector = server.inspector!;
  await inspector.collectGarbage();
  await inspector.collectGarbage();
  await sleep(200);
  const m = await inspector.memoryUsage();
  const r = server.rssParts();
  return {
    label,
    heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers),
    rssMb: round(r.rssMb, 1), rssAnonMb: round(r.anonMb, 1), rssFileMb: round(r.fileMb, 1), rssShmemMb: round(r.shmemMb, 1),
    threads: r.threads, mappings: mapCount(server.pid),
  };
}

async function post(url: string, path: string, body: object, expect: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Starts `n` chat conversations (`lanes` requests in flight), each with a first message; returns their ids. */
async function startConversations(server: AsyncBenchServer, n: number, lanes: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const conv = await post(server.url, '/v1/conversations', {
        agent: ASYNC_AGENT, channel: 'chat', customer: { externalId: `${tag}-${i}` }, message: 'Hello, is my order on its way?',
      }, 201);
      ids.push(String(conv.id));
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return ids;
}

/** Waits until the server has answered `total` chat turns in all (its own counter, /metrics). */
async function answered(server: AsyncBenchServer, total: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const done = metricSum(await metricsText(server.url), 'operator_turn_duration_seconds_count', 'channel="chat"');
    if (done >= total) return;
    if (performance.now() > deadline) throw new Error(`only ${done} of ${total} chat turns answered after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** How many chat conversations are in `status` (paging through GET /v1/conversations). */
async function countConversations(url: string, status: string): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const res = await fetch(`${url}/v1/conversations?status=${status}&channel=chat&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    const page = (await res.json()) as { data: unknown[]; nextCursor: string | null };
    n += page.data.length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const server = await spawnAsyncServer({ config: asyncConfig(p.poolSize), inspect: true, nodeArgs: ctx.serverNodeArgs });
  try {
    const fresh = await reading(server, p, 'fresh server, nothing handled');
    ctx.log(`fresh: heap ${fresh.heapUsedMb} MB, RSS ${fresh.rssMb} MB`);

    ctx.log(`warm-up: ${p.warmup} conversations made, answered, then ended`);
    const warm = await startConversations(server, p.warmup, p.lanes, 'warmup');
    await answered(server, p.warmup, 120_000);
    for (const id of warm) await post(server.url, `/v1/conversations/${id}/end`, {}, 200);
    if ((await countConversations(server.url, 'suspended')) !== 0) throw new Error('suspended conversations left after the warm-up');
    const none = await reading(server, p, '0 suspended (after the warm-up)');
    ctx.log(`0 suspended: heap ${none.heapUsedMb} MB, RSS ${none.rssMb} MB`);

    const readings: (Reading & { suspended: number })[] = [];
    let made = 0;
    let makeS = 0;
    for (const target of p.steps) {
      ctx.log(`up to ${target} suspended: POST /v1/conversations × ${target - made} (${p.lanes} in flight), each answered`);
      const t0 = performance.now();
      await startConversations(server, target - made, p.lanes, `suspended-${made}`);
      await answered(server, p.warmup + target, 3_600_000);
      makeS += (performance.now() - t0) / 1000;
      made = target;
      const suspended = await countConversations(server.url, 'suspended');
      if (suspended !== target) throw new Error(`${suspended} conversations suspended, expected ${target}`);
      const r = { ...(await reading(server, p, `${target} suspended`)), suspended };
      readings.push(r);
      ctx.log(`${suspended} suspended: heap ${r.heapUsedMb} MB, RSS ${r.rssMb} MB, ${r.threads} threads (made so far in ${round(makeS, 1)} s)`);
    }
    const many = readings.at(-1)!;
    const heapDelta = round(many.heapUsedMb - none.heapUsedMb, 2);
    const rssDelta = round(many.rssMb - none.rssMb, 1);
    const perConvBytes = Math.round(((many.heapUsedMb - none.heapUsedMb) * 2 ** 20) / made);
    const first = readings[0]!;
    // Between the two steps: what each further conversation adds, with one-off growth left out.
    const marginalBytes = readings.length > 1 ? Math.round(((many.heapUsedMb - first.heapUsedMb) * 2 ** 20) / (many.suspended - first.suspended)) : perConvBytes;
    const figures = [
      figure('suspended_heap_delta', `V8 heap after GC, ${made} suspended − none`, heapDelta, 'MB', {
        detail: `${none.heapUsedMb} → ${readings.map((r) => `${r.heapUsedMb} (${r.suspended})`).join(' → ')} MB; ${perConvBytes} B a conversation overall, ${marginalBytes} B between the steps; target read as "within 1 MB of none"`,
        target: { op: '<', value: 1, source: 'issue #3 "Benchmark" (no more than with none); DESIGN.md (0 per suspended conversation)' },
      }),
      figure('suspended_rss_delta', `RSS, ${made} suspended − none`, rssDelta, 'MB', {
        detail: `${none.rssMb} → ${readings.map((r) => `${r.rssMb} (${r.suspended})`).join(' → ')} MB; anonymous ${none.rssAnonMb} → ${many.rssAnonMb}, file ${none.rssFileMb} → ${many.rssFileMb}, shared ${none.rssShmemMb} → ${many.rssShmemMb} MB; threads ${none.threads} → ${many.threads}`,
      }),
    ];
    return {
      figures,
      data: {
        parameters: p,
        conditions: asyncConditions(server.dataDir, 'the server runs with --inspect=127.0.0.1:0 (passed by the benchmark) to force GCs'),
        how: 'conversations made through POST /v1/conversations (chat, one customer each, first message answered by the scripted model), not seeded',
        readings: [fresh, none, ...readings],
        heapDeltaMb: heapDelta,
        heapBytesPerConversation: perConvBytes,
        heapBytesPerConversationBetweenSteps: marginalBytes,
        rssDeltaMb: rssDelta,
        makeConversationsS: round(makeS, 1),
        conversationsPerS: round(made / makeS, 1),
        serverStartupMs: Math.round(server.startupMs),
      },
      serverProblems: server.problems(),
    };
  } catch (err) {
    throw explain(server, err);
  } finally {
    await server.stop();
  }
}

export const suspendedMemory: Benchmark = {
  name: 'suspended-memory',
  description: 'server memory with 0 vs 10,000 suspended async conversations (made through the API), after forced GCs',
  run,
};
