// Clean: a reviewed exception, marked with an allow comment that carries its reason.
import { db } from './db.js'

export async function refundWithNotice(customerId: number, supportAgentId: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx('orders').where({ customer_id: customerId }).update({ status: 'refunded' })
    // shardtx-allow-cross-shard: agent notice may be lost on rollback, accepted in https://tracker.example/OPS-42
    await tx('notifications').insert({ user_id: supportAgentId, body: `refund for ${customerId}` })
  })
}
