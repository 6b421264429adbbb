import type { Executor } from './executor.ts';
import type { AttachmentRow } from './schema.ts';

/** A file received with a message (MMS media, email attachment), stored in the database. */
export interface StoredAttachment {
  id: string;
  /** The item it belongs to; absent until attached (stored before the item is). */
  itemId?: string;
  contentType: string;
  filename?: string;
  sizeBytes: number;
  createdAt: number;
}

export interface AttachmentContent extends StoredAttachment {
  data: Buffer;
}

export interface NewAttachment {
  id: string;
  itemId?: string;
  contentType: string;
  filename?: string;
  sizeBytes: number;
  data: Buffer;
}

export interface AttachmentRepository {
  /** Stores the file; idempotent on `id` (a second put keeps the first file). Resolves when durable. */
  put(attachment: NewAttachment, atMs: number): Promise<StoredAttachment>;
  get(id: string): Promise<AttachmentContent | undefined>;
  /** Metadata (no data) of an item's attachments, oldest first. */
  listByItem(itemId: string): Promise<StoredAttachment[]>;
  /** Makes the attachments belong to the item: erased with it. Unknown ids are ignored. */
  attach(ids: string[], itemId: string): Promise<void>;
}

const META = ['id', 'item_id', 'content_type', 'filename', 'size_bytes', 'created_at'] as const;

export function attachmentRepository(ex: Executor): AttachmentRepository {
  return {
    put: (a, atMs) =>
      ex.run('attachments.put', () =>
        ex.write(async (db) => {
          await db
            .insertInto('attachments')
            .values({
              id: a.id,
              item_id: a.itemId ?? null,
              content_type: a.contentType,
              filename: a.filename ?? null,
              size_bytes: a.sizeBytes,
              data: a.data,
              created_at: atMs,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
          return toMeta(await db.selectFrom('attachments').select(META).where('id', '=', a.id).executeTakeFirstOrThrow());
        }),
      ),

    get: (id) =>
      ex.run('attachments.get', async () => {
        const row = await ex.db.selectFrom('attachments').selectAll().where('id', '=', id).executeTakeFirst();
        if (row === undefined) return undefined;
        const data = Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength);
        return { ...toMeta(row), data };
      }),

    listByItem: (itemId) =>
      ex.run('attachments.listByItem', async () => {
        const rows = await ex.db
          .selectFrom('attachments')
          .select(META)
          .where('item_id', '=', itemId)
          .orderBy('created_at', 'asc')
          .orderBy('id', 'asc')
          .execute();
        return rows.map(toMeta);
      }),

    attach: (ids, itemId) =>
      ex.run('attachments.attach', async () => {
        if (ids.length === 0) return;
        await ex.write((db) => db.updateTable('attachments').set({ item_id: itemId }).where('id', 'in', ids).execute());
      }),
  };
}

function toMeta(r: Omit<AttachmentRow, 'data'>): StoredAttachment {
  const a: StoredAttachment = {
    id: r.id,
    contentType: r.content_type,
    sizeBytes: Number(r.size_bytes),
    createdAt: Number(r.created_at),
  };
  if (r.item_id !== null) a.itemId = r.item_id;
  if (r.filename !== null) a.filename = r.filename;
  return a;
}
