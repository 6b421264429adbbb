import type { Executor } from './executor.ts';

/**
 * Thread keys of conversations: the email Message-IDs of a thread (received and sent), so that a
 * reply to any message of the thread (In-Reply-To / References) lands in the same conversation.
 */
export interface ThreadRepository {
  /**
   * Links the keys to the conversation. Keys already linked to it are ignored; a key linked to
   * another conversation stays there (first link wins, also under concurrent calls).
   */
  link(conversationId: string, keys: string[]): Promise<void>;
  /** The conversation any of the keys is linked to; the newest conversation if several. */
  find(keys: string[]): Promise<string | undefined>;
}

export function threadRepository(ex: Executor): ThreadRepository {
  return {
    link: (conversationId, keys) =>
      ex.run('threads.link', async () => {
        const unique = [...new Set(keys.filter((k) => k !== ''))];
        if (unique.length === 0) return;
        await ex.write((db) =>
          db
            .insertInto('conversation_threads')
            .values(unique.map((key) => ({ key, conversation_id: conversationId })))
            .onConflict((oc) => oc.column('key').doNothing())
            .execute(),
        );
      }),

    find: (keys) =>
      ex.run('threads.find', async () => {
        const unique = [...new Set(keys.filter((k) => k !== ''))];
        if (unique.length === 0) return undefined;
        const row = await ex.db
          .selectFrom('conversation_threads')
          .select('conversation_id')
          .where('key', 'in', unique)
          .orderBy('conversation_id', 'desc')
          .limit(1)
          .executeTakeFirst();
        return row?.conversation_id;
      }),
  };
}
