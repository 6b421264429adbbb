export { createEmbeddedQueue, type EmbeddedQueueOptions, type EmbeddedWorkQueue } from './embedded.ts';
export { createPgBossQueue, type PgBossQueueOptions } from './pg-boss.ts';
export type { JobHandler, JobRequest, QueueLogger, QueuedJob, WorkQueue } from './types.ts';
