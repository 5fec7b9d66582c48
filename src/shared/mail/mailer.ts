import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Transporter } from 'nodemailer'
import type { Config } from '../../config.js'
import type { Database } from '../../db/client.js'
import { clock } from '../clock.js'
import { createOutboxRepo, type OutboxRepo } from './outbox.repo.js'
import { isMailTemplate, renderMail } from './templates.js'

export interface MailerOptions {
  database: Database
  /** SMTP server; without it emails are written as .eml files into `mailDir`. */
  smtpUrl: string | undefined
  mailDir: string
  from: string
  log?: { warn: (obj: object, msg: string) => void; error: (obj: object, msg: string) => void }
}

const MAX_ATTEMPTS = 8
const LEASE_SECONDS = 120

/** Seconds to wait after the n-th failed attempt: 30 s, 1 min, 2 min … capped at 1 hour. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempt - 1))
}

/** nodemailer is loaded with the first email: a process that sends none (a CLI command, most tests) never reads its 440 kB. */
async function createTransport(options: MailerOptions): Promise<Transporter> {
  const { default: nodemailer } = await import('nodemailer')
  if (options.smtpUrl) {
    const url = new URL(options.smtpUrl)
    if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true')
    return nodemailer.createTransport(url.toString())
  }
  return nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
}

/** The domain of the sender's address ("Brand <no-reply@host>"): Message-IDs are made under it. */
function senderDomain(from: string): string {
  return /@([^\s>]+)>?\s*$/.exec(from)?.[1] ?? 'localhost'
}

/**
 * The email's Message-ID, derived from its outbox key: every attempt at one email carries the same
 * one, so a receiver drops a copy sent again after a crash (delivery is at least once).
 */
export function messageIdOf(key: string, from: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 40)}@${senderDomain(from)}>`
}

/** The outbox worker: sends what the transactions queued, retries with backoff, never sends one key twice. */
export function createMailer(options: MailerOptions) {
  const repo: OutboxRepo = createOutboxRepo(options.database.db)
  const toFiles = !options.smtpUrl
  let transporter: Promise<Transporter> | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined

  async function sendOne(row: Awaited<ReturnType<OutboxRepo['claimDue']>>[number]): Promise<void> {
    if (!isMailTemplate(row.template)) throw new Error(`unknown mail template ${row.template}`)
    const mail = renderMail(row.template, row.locale, row.data)
    const info: { message?: unknown } = await (await (transporter ??= createTransport(options))).sendMail({
      from: options.from, to: row.toEmail, subject: mail.subject, text: mail.text, html: mail.html, messageId: messageIdOf(row.key, options.from),
      headers: { 'X-Sportello-Key': row.key, 'X-Sportello-Template': row.template },
    })
    if (toFiles && Buffer.isBuffer(info.message)) {
      await writeFile(path.join(options.mailDir, `${String(row.id).padStart(8, '0')}-${row.template}.eml`), info.message)
    }
  }

  /**
   * Sends one claimed batch. The rows sent are marked in one statement at the end of the batch (or
   * before a failure is recorded): a crash in between sends them again after the lease, under the
   * same Message-ID, which delivery at least once allows and receivers drop.
   */
  async function drainOnce(limit = 50): Promise<number> {
    const due = await repo.claimDue(clock.now(), limit, LEASE_SECONDS)
    if (due.length > 0 && toFiles) await mkdir(options.mailDir, { recursive: true })
    let sent = 0
    const handedOver: number[] = []
    const markHandedOver = () => repo.markSent(handedOver.splice(0), clock.now())
    for (const row of due) {
      try {
        await sendOne(row)
        handedOver.push(row.id)
        sent++
      } catch (error) {
        await markHandedOver()
        const message = error instanceof Error ? error.message : String(error)
        const retryAt = row.attempts >= MAX_ATTEMPTS ? null : new Date(clock.now().getTime() + retryDelaySeconds(row.attempts) * 1000)
        options.log?.warn({ outboxId: row.id, template: row.template, attempt: row.attempts, err: message }, retryAt ? 'email failed, will retry' : 'email failed for good')
        await repo.markFailed(row.id, message, retryAt)
      }
    }
    await markHandedOver()
    return sent
  }

  /**
   * Sends everything due now; returns how many were sent. Concurrent calls share one run.
   * `onProgress` hears of each batch: emails sent so far, and those due when the drain started.
   */
  function drain(onProgress?: (done: number, total: number) => void): Promise<number> {
    running ??= (async () => {
      const due = onProgress ? await repo.due(clock.now()) : 0
      onProgress?.(0, due)
      let total = 0
      for (;;) {
        const sent = await drainOnce()
        total += sent
        if (sent > 0) onProgress?.(total, Math.max(due, total))
        if (sent === 0) return total
      }
    })().finally(() => { running = undefined })
    return running
  }

  return {
    repo,
    drain,
    start(intervalMs = 2000): void {
      timer ??= setInterval(() => {
        drain().catch((error: unknown) => { options.log?.error({ err: error }, 'outbox worker failed') })
      }, intervalMs)
      timer.unref()
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      await running
      await transporter?.then((opened) => { opened.close() }, () => undefined)
    },
  }
}

export type Mailer = ReturnType<typeof createMailer>

/** The mailer as the configuration describes it: SMTP_URL, else .eml files in DATA_DIR/mail. */
export function mailerFromConfig(config: Config, database: Database, log?: MailerOptions['log']): Mailer {
  return createMailer({
    database, smtpUrl: config.smtpUrl, mailDir: path.join(config.dataDir, 'mail'),
    from: `${config.brandName} <no-reply@${new URL(config.publicUrl).hostname}>`, ...(log ? { log } : {}),
  })
}
