import { format, parseArgs } from 'node:util'
import type { Database } from './db/client.js'

const usage = `Usage: sportello <command>

Commands:
  migrate                   apply database migrations
  seed demo                 load the demo tenant (markets) and help content
  content import <dir>      make the help center hold exactly the articles in <dir>/<locale>/<category>/*.md
  content export <dir>      write the help center as files that import back identically
  content report            feedback per article and branch, and searches without results
  outbox drain [--now <iso time>]
                            send every queued email that is due (SMTP_URL, or .eml files in DATA_DIR/mail);
                            --now sends what a rehearsed "lifecycle sweep --now" queued for that moment
  lifecycle sweep [--now <iso time>] [--dry-run]
                            move inactive accounts through warned, blocked, delete-warned, deleted
                            (per realm policy); --dry-run prints the counts and changes nothing
  users import <file.csv> [--invite]
                            import accounts (columns: user_id, first_name, last_name, email,
                            company_number, realm, role, last_activity); all rows are checked
                            first and nothing is imported when any is wrong
  support close-solved [--now <iso time>]
                            close solved support requests without an answer for 7 days
                            (the server also does it on the lifecycle schedule)
  support report [--days 30]
                            which help articles and branches led to requests, and deflections
  admin create <email> --role platform_admin|market_admin [--market IT]
                            create an administrator and print the single-use link to set a password
  users invite --user-id <id> --first-name <name> --last-name <name> --company <number>
               [--email <address>] [--realm partner|shop] [--locale it|en|de] [--role user|org_admin]
                            create an active account and print its single-use link (valid 7 days);
                            with --email the link is also emailed. At first sign-in the user
                            confirms an email address.
  clients add --name <name> --kind web|public|machine [--realm partner|shop]
              [--redirect-uri <url>]… [--post-logout-uri <url>]… [--third-party]
              [--backchannel-logout-uri <url>]
                            register a connected app (OIDC client); prints its client ID and,
                            for web and machine apps, its secret: shown this once, stored hashed
  clients list [--realm partner|shop]
  clients remove <client_id> remove an app and every token, code and grant it holds
  keys rotate               new token signing key; the previous one stays published for verification
  scim token <client_id> --company <number> | --market <code>
                            issue a SCIM 2.0 provisioning token for a machine client of the partner
                            realm, scoped to one company or one market (replaces its previous token);
                            shown this once, stored hashed. Base URL: PUBLIC_URL/scim/v2
  scim revoke <client_id>   withdraw a client's provisioning token

users import, content import, lifecycle sweep and outbox drain show their progress on a terminal
and print one summary line; --json prints the summary as one JSON object instead.

Configuration comes from the environment (see README): DATABASE_URL, DATA_DIR, …`

export const cliOptions = {
  help: { type: 'boolean', short: 'h' },
  realm: { type: 'string', default: 'partner' },
  'user-id': { type: 'string' },
  'first-name': { type: 'string' },
  'last-name': { type: 'string' },
  email: { type: 'string' },
  company: { type: 'string' },
  locale: { type: 'string', default: 'en' },
  role: { type: 'string', default: 'user' },
  now: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  invite: { type: 'boolean', default: false },
  market: { type: 'string' },
  days: { type: 'string', default: '30' },
  name: { type: 'string' },
  kind: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-uri': { type: 'string', multiple: true },
  'backchannel-logout-uri': { type: 'string' },
  'third-party': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const

export type CliValues = ReturnType<typeof parseArgs<{ options: typeof cliOptions; allowPositionals: true }>>['values']

/** Every command, as `<command> <subcommand>`; the last positional, where one is needed, is its argument. */
const commands = new Set([
  'migrate', 'seed demo', 'content import', 'content export', 'content report', 'outbox drain', 'lifecycle sweep',
  'users import', 'users invite', 'support close-solved', 'support report', 'admin create',
  'clients add', 'clients list', 'clients remove', 'keys rotate', 'scim token', 'scim revoke',
])

/**
 * What a command runs in: the environment its configuration comes from and the streams it writes to,
 * the process's own for `sportello` (bin/sportello.js). With `database`, commands work on that open
 * database (and leave it open) instead of opening the configured one: tests run commands in their own
 * process that way, on the database they made rows in.
 */
export interface CliContext {
  env: Record<string, string | undefined>
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  database?: Database
}

/** The context of `sportello` itself: process.env, stdout and stderr. */
export function processContext(): CliContext {
  return { env: process.env, stdout: process.stdout, stderr: process.stderr }
}

/** Runs `sportello <argv>`; answers the exit code. A command that fails says why on stderr and answers 1. */
export async function runCli(argv: string[], context: CliContext): Promise<number> {
  const complain = (text: unknown) => { context.stderr.write(`${format(text)}\n`) }
  let parsed
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: cliOptions })
  } catch (error) {
    // node:util names the option that is unknown or lacks its value.
    complain(`${(error as Error).message}\n\n${usage}`)
    return 2
  }
  const { positionals, values } = parsed
  const [command, sub, arg] = positionals
  if (values.help || !command) {
    context.stdout.write(`${usage}\n`)
    return command || values.help ? 0 : 2
  }
  const name = `${command} ${sub ?? ''}`.trim()
  if (commands.has(name) || commands.has(command)) {
    // The application loads only when a command runs, so that help and mistakes answer at once.
    const { runCommand, describeFailure } = await import('./cli/commands.js')
    let code
    try {
      code = await runCommand(commands.has(name) ? name : command, arg, values, context)
    } catch (error) {
      complain(describeFailure(error))
      return 1
    }
    if (code !== undefined) return code
  }
  complain(`Unknown or incomplete command: ${positionals.join(' ')}\n\n${usage}`)
  return 2
}
