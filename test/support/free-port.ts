import net from 'node:net'

/**
 * A TCP port that was free on `host` a moment ago: the kernel picks it (bind to port 0), then we
 * release it. Another process can take it before our server binds it, so callers that start a
 * server should retry with a new port when binding fails (as `startMariadb` does).
 *
 * @example
 * ```ts
 * const port = await freePort()          // e.g. 41873
 * spawn('/usr/sbin/mariadbd', [`--port=${port}`, ...])
 * ```
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error(`could not determine a free port on ${host}`))
      })
    })
  })
}
