// The demo's output: numbered headings, bold only on a terminal that wants colour (NO_COLOR,
// TERM=dumb and pipes get none), one short line per log event, JSON with --json.
import tty from 'node:tty'
import { describe, expect, it } from 'vitest'
import { demoOutput } from '../../examples/demo-support.js'

function capture(isTerminal: boolean) {
  const written: string[] = []
  // A terminal's hasColors is Node's own, which reads NO_COLOR, FORCE_COLOR and TERM from the env
  // it is given; a pipe or a file has no hasColors at all.
  const stream = { write: (text: string) => written.push(text) > 0, ...(isTerminal ? { hasColors: tty.WriteStream.prototype.hasColors } : {}) }
  return { stream, text: () => written.join('') }
}

describe('demo output', () => {
  it('numbers the sections and prints log events as short lines', () => {
    const { stream, text } = capture(false)
    const out = demoOutput({ json: false }, stream, {})
    out.heading('Routing')
    out.line('a line')
    out.logger.warn({ event: 'shardtx.cross_shard_transaction', shards: ['-80', '80-'] }, 'shardtx: transaction tx-1 spanned shards [-80, 80-]: committed')
    out.logger.debug({ event: 'shardtx.transaction_retry' }, 'shardtx: never shown')
    out.heading('reject')
    expect(text()).toBe('\n1. Routing\n  a line\n  log warn transaction tx-1 spanned shards [-80, 80-]: committed\n\n2. reject\n')
    expect(out.logger.isLevelEnabled?.('debug')).toBe(false)
  })

  it('prints the event objects as JSON lines with --json', () => {
    const { stream, text } = capture(false)
    demoOutput({ json: true }, stream, {}).logger.warn({ event: 'shardtx.shard_down', shard: '-80' }, 'shardtx: shard -80 is down')
    expect(text()).toBe('  log warn {"event":"shardtx.shard_down","shard":"-80"}\n')
  })

  it.each([
    ['a pipe or a file', false, { TERM: 'xterm-256color' }, false],
    ['a terminal', true, { TERM: 'xterm-256color' }, true],
    ['a terminal with NO_COLOR', true, { TERM: 'xterm-256color', NO_COLOR: '1' }, false],
    ['a dumb terminal', true, { TERM: 'dumb' }, false],
  ] as const)('uses ANSI codes only where colour is wanted: %s', (_name, isTerminal, env, coloured) => {
    const { stream, text } = capture(isTerminal)
    demoOutput({ json: false }, stream, env).heading('Routing')
    expect(text().includes('\x1b[')).toBe(coloured)
    expect(text().replace(/\x1b\[\d+m/g, '')).toBe('\n1. Routing\n')
  })
})
