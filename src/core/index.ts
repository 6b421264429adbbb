export * from './agent.ts';
export * from './clock.ts';
export * from './conversation.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './ids.ts';
export * from './memory.ts';
