// Cross-shard: an order (keyed by customer) and a notification to a different user in one transaction.
import { db } from './db.js'

export async function placeGiftOrder(customerId: number, recipientId: number, total: number): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('orders').insert({ customer_id: customerId, total, status: 'placed' })
    await trx('notifications').insert({ user_id: recipientId, body: 'You received a gift' }) // expect-lint
  })
}
