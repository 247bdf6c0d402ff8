// Cross-shard: a write inside a loop over keys, one shard per user.
import { db } from './db.js'

export async function announce(userIds: number[], body: string): Promise<void> {
  await db.transaction(async (tx) => {
    for (const userId of userIds) {
      await tx('notifications').insert({ user_id: userId, body }) // expect-lint
    }
  })
}
