import type { Logger } from 'pino';
import type { AgentSpec } from '../../core/agent.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Store, WorkQueue } from '../../store/index.ts';

export const JOB_RETENTION = 'memory.retention';
const DAY_MS = 86_400_000;

export interface RetentionDeps {
  store: Store;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
  agents: readonly AgentSpec[];
}

/**
 * Purges the ended conversations each agent keeps no longer (`memory.retention`), with their
 * items, summaries, deliveries and attachments. Customers stay (their identity is not history).
 * Conversations of an agent no longer configured are left alone. Returns how many were purged.
 */
export async function purgeExpired(deps: Pick<RetentionDeps, 'store' | 'clock' | 'agents'>): Promise<number> {
  let purged = 0;
  for (const agent of deps.agents) {
    if (agent.memory.retentionMs <= 0) continue;
    purged += await deps.store.conversations.purgeEndedBefore(deps.clock.now() - agent.memory.retentionMs, agent.id);
  }
  return purged;
}

/**
 * The daily retention job: queued on the work queue (so a failed run is retried, and on
 * Postgres any node may run it) at start and every 24 hours after. Each node queues its own:
 * purging twice is harmless, and nothing has to be deduplicated across restarts.
 */
export function startRetention(deps: RetentionDeps): { stop(): void } {
  deps.queue.work(JOB_RETENTION, async () => {
    const purged = await purgeExpired(deps);
    if (purged > 0) deps.logger.info({ purged }, 'retention: purged ended conversations');
  });
  let timer: TimerHandle | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    deps.queue.send({ name: JOB_RETENTION, data: {}, maxAttempts: 3, backoffMs: 60_000 }).catch((err: unknown) => {
      deps.logger.warn({ err: errorMessage(err) }, 'retention: could not queue the daily job');
    });
    timer = deps.clock.setTimeout(tick, DAY_MS);
  };
  tick();
  return {
    stop: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}
