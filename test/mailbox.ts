import { after, before } from 'node:test'
import type { ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface Mailbox {
  url: string
  messages: ParsedMail[]
  /** Messages to an address, oldest first. */
  to(address: string): ParsedMail[]
  /** The first link in a message's text that starts with `prefix`. */
  linkIn(message: ParsedMail | undefined, prefix: string): string
  /** Makes the next `n` deliveries fail with a temporary error. */
  failNext(n: number): void
}

/** A real SMTP server in the test process; every message is parsed with mailparser. */
export function useMailbox(): () => Mailbox {
  const messages: ParsedMail[] = []
  let failures = 0
  let url = ''
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    // At the end of a file the app's pooled connection may still be open: end it at once, not after
    // smtp-server's default 30 seconds (which every file with a mailbox used to wait).
    closeTimeout: 50,
    onData(stream, _session, callback) {
      if (failures > 0) {
        failures--
        stream.resume()
        stream.on('end', () => { callback(Object.assign(new Error('451 try again later'), { responseCode: 451 })) })
        return
      }
      // mailparser takes about 0.3 s of CPU to load: only files that receive mail pay it.
      import('mailparser').then(({ simpleParser }) => simpleParser(stream)).then((mail) => { messages.push(mail); callback() }, (error: unknown) => { callback(error as Error) })
    },
  })
  before(async () => {
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    const address = server.server.address()
    url = `smtp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  })
  after(() => new Promise<void>((resolve) => { server.close(resolve) }))
  const mailbox: Mailbox = {
    get url() { return url },
    messages,
    to: (address) => messages.filter((m) => [m.to].flat().some((t) => t?.value.some((v) => v.address?.toLowerCase() === address.toLowerCase()))),
    linkIn: (message, prefix) => {
      const match = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S+`).exec(message?.text ?? '')
      if (!match) throw new Error(`no link starting with ${prefix} in ${message?.subject ?? 'no message'}`)
      return match[0]
    },
    failNext: (n) => { failures = n },
  }
  return () => mailbox
}
