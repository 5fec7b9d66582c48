/** A demo account as the seed reports it: `role` may name two roles (`market_admin+agent`). */
export interface SeededAccount {
  realm: string
  userId: string
  role: string
  /** The account's language: its sign-in page is printed in it. */
  locale?: string | undefined
  /** The market an administrator or agent works for. */
  market?: string | undefined
}

/** How the terminal names each role: words a person trying the demo understands, not role codes. */
const roleNames: Record<string, string> = {
  user: 'workshop user',
  org_admin: 'organization admin',
  market_admin: 'market admin',
  support_agent: 'support agent',
  agent: 'support agent',
  platform_admin: 'platform admin',
}

function roleName(account: SeededAccount): string {
  const roles = account.role.split('+').map((r) => roleNames[r] ?? r)
  const [first = '', ...more] = roles
  const named = [account.market ? `${first} ${account.market}` : first, ...more].join(' + ')
  return account.realm === 'shop' ? `Parts Shop ${named}` : named
}

/**
 * The demo accounts `npm start` prints: one aligned row per account with its user ID, role, the
 * password and the sign-in page of its realm in its own language, so a person trying the demo can
 * copy a user ID and open the right page. Plain ASCII columns: every terminal shows them aligned.
 */
export function accountsTable(accounts: readonly SeededAccount[], options: { publicUrl: string; password: string }): string {
  const header = ['User ID', 'Role', 'Password', 'Sign in at']
  const rows = accounts.map((a) => [
    a.userId, roleName(a), options.password, `${options.publicUrl}/${a.locale ?? 'en'}${a.realm === 'shop' ? '/shop' : ''}/login`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  // The last column is not padded: no trailing spaces to copy with a URL.
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`
  return ['Demo accounts:', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
