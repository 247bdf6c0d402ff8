// Clean: a fan-out over users declares { crossShard: 'split' }: one local transaction per shard.
import { db } from './db.js'

export async function announceSplit(userIds: number[], body: string): Promise<void> {
  await db.transaction(
    async (tx) => {
      await Promise.all(userIds.map((userId) => tx('notifications').insert({ user_id: userId, body })))
    },
    { crossShard: 'split' },
  )
}
