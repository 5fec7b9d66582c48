import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import * as client from 'openid-client'
import { renderToString } from 'preact-render-to-string'
import type { ComponentChildren } from 'preact'

/**
 * "Workshop app": a tiny second web application (Demo Motors' workshop planner) that signs its
 * users in through Sportello with OpenID Connect: code flow with PKCE, claims, sign-out
 * everywhere (RP-initiated logout) and back-channel logout (its session ends when the person's
 * portal session ends). Sessions live in memory: it is a demo.
 */
export interface WorkshopAppOptions {
  /** Sportello's PUBLIC_URL (the partner realm's issuer). */
  issuer: string
  clientId: string
  /** Where this app is reached, for its redirect URIs. */
  baseUrl: string
  /** Plain http is allowed for an issuer on this machine only. */
  insecure?: boolean
}

interface Session {
  pending?: { verifier: string; state: string; nonce: string }
  claims?: Record<string, unknown>
  idToken?: string
}

const COOKIE = 'workshop_session'
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'
/** Where Sportello posts logout tokens (register it with `clients add --backchannel-logout-uri`). */
export const BACKCHANNEL_LOGOUT_PATH = '/backchannel-logout'

function Layout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Demo Motors Workshop`}</title>
      </head>
      <body>
        <header><p><strong>Demo Motors Workshop</strong> (a connected app)</p></header>
        <main>
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  )
}

function Home({ claims }: { claims: Record<string, unknown> | undefined }) {
  if (!claims) {
    return (
      <Layout title="Workshop planner">
        <p>Sign in with your Demo Motors partner ID to plan your workshop's jobs.</p>
        <p><a href="/login" id="sign-in">Sign in with Demo Motors</a></p>
      </Layout>
    )
  }
  return (
    <Layout title={`Welcome, ${typeof claims.name === 'string' ? claims.name : ''}`}>
      <p>Signed in as <strong id="user-id">{typeof claims.preferred_username === 'string' ? claims.preferred_username : ''}</strong>, your Demo Motors partner user ID.</p>
      <p>You are signed in through the Demo Motors partner portal. What the portal told this app:</p>
      <table>
        <caption>Claims</caption>
        <thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead>
        <tbody>
          {Object.entries(claims).filter(([k]) => !['iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'sid', 'azp'].includes(k)).map(([key, value]) => (
            <tr key={key}><th scope="row">{key}</th><td data-claim={key}>{typeof value === 'string' ? value : JSON.stringify(value)}</td></tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/logout"><button type="submit" id="sign-out">Sign out everywhere</button></form>
    </Layout>
  )
}

function sendWith(csp: string) {
  return (res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': csp, ...headers })
    res.end(`<!doctype html>${html}`)
  }
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}) {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers })
  res.end()
}

export async function createWorkshopApp(options: WorkshopAppOptions): Promise<Server> {
  const config = await client.discovery(new URL(options.issuer), options.clientId, undefined, client.None(), {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- only for an issuer on this machine (demo, tests)
    ...(options.insecure ? { execute: [client.allowInsecureRequests] } : {}),
  })
  // The sign-out form's answer redirects to the portal, which form-action must allow.
  const send = sendWith(`default-src 'self'; form-action 'self' ${new URL(options.issuer).origin}`)
  const sessions = new Map<string, Session>()
  const redirectUri = `${options.baseUrl}/callback`
  const jwksUri = config.serverMetadata().jwks_uri
  const keys = jwksUri ? createRemoteJWKSet(new URL(jwksUri)) : undefined

  /**
   * OpenID Connect Back-Channel Logout 1.0, section 2.6: a signed logout token from the issuer,
   * for this app, with the logout event and no nonce, names a session (sid) or a person (sub);
   * every session of ours it names ends.
   */
  const backchannelLogout = async (req: IncomingMessage): Promise<boolean> => {
    let body = ''
    for await (const chunk of req) {
      body += String(chunk)
      if (body.length > 64 * 1024) return false
    }
    const token = new URLSearchParams(body).get('logout_token')
    if (!token || !keys) return false
    const { payload } = await jwtVerify(token, keys, { issuer: options.issuer, audience: options.clientId, algorithms: ['RS256'], typ: 'logout+jwt' })
    const events = payload.events as Record<string, unknown> | undefined
    if (!events || typeof events[LOGOUT_EVENT] !== 'object' || 'nonce' in payload || (!payload.sid && !payload.sub)) return false
    for (const [id, session] of sessions) {
      const claims = session.claims
      if (!claims) continue
      const matches = payload.sid ? claims.sid === payload.sid : claims.sub === payload.sub
      if (matches) sessions.delete(id)
    }
    return true
  }

  const sessionOf = (req: IncomingMessage): { id: string; session: Session; fresh: boolean } => {
    const id = /(?:^|;\s*)workshop_session=([\w-]{20,64})/.exec(req.headers.cookie ?? '')?.[1]
    const existing = id ? sessions.get(id) : undefined
    if (id && existing) return { id, session: existing, fresh: false }
    const created = randomBytes(24).toString('base64url')
    const session: Session = {}
    sessions.set(created, session)
    return { id: created, session, fresh: true }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', options.baseUrl)
    if (req.method === 'POST' && url.pathname === BACKCHANNEL_LOGOUT_PATH) {
      // No cookies here: the portal calls this directly, not the person's browser.
      const accepted = await backchannelLogout(req).catch(() => false)
      res.writeHead(accepted ? 200 : 400, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(accepted ? '{}' : '{"error":"invalid_request"}')
      return
    }
    const { id, session, fresh } = sessionOf(req)
    const cookie: Record<string, string> = fresh ? { 'set-cookie': `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax` } : {}
    if (req.method === 'GET' && url.pathname === '/') {
      send(res, 200, renderToString(<Home claims={session.claims} />), cookie)
      return
    }
    if (req.method === 'GET' && url.pathname === '/login') {
      const pending = { verifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce() }
      session.pending = pending
      const target = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: 'openid profile email company roles', state: pending.state, nonce: pending.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
      })
      redirect(res, target.href, cookie)
      return
    }
    if (req.method === 'GET' && url.pathname === '/callback') {
      const pending = session.pending
      if (!pending) {
        redirect(res, '/', cookie)
        return
      }
      delete session.pending
      try {
        const tokens = await client.authorizationCodeGrant(config, url, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce })
        session.claims = tokens.claims()
        session.idToken = tokens.id_token
        redirect(res, '/', cookie)
        return
      } catch (error) {
        const message = error instanceof client.AuthorizationResponseError || error instanceof client.ResponseBodyError ? error.error : 'sign-in failed'
        send(res, 400, renderToString(<Layout title="Sign-in failed"><p>{message}</p><p><a href="/">Back</a></p></Layout>), cookie)
        return
      }
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      const idToken = session.idToken
      sessions.delete(id)
      const target = client.buildEndSessionUrl(config, { post_logout_redirect_uri: `${options.baseUrl}/`, ...(idToken ? { id_token_hint: idToken } : {}) })
      redirect(res, target.href, { 'set-cookie': `${COOKIE}=; Path=/; Max-Age=0` })
      return
    }
    send(res, 404, renderToString(<Layout title="Not found"><p><a href="/">Home</a></p></Layout>))
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(error)
      if (!res.headersSent) send(res, 500, renderToString(<Layout title="Error"><p>Something went wrong.</p></Layout>))
    })
  })
}
