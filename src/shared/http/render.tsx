import type { FastifyReply, FastifyRequest } from 'fastify'
import type { VNode } from 'preact'
import { renderToString } from 'preact-render-to-string'
import { translator } from '../i18n/index.js'
import type { PageContext } from '../layout/Page.js'
import { isSignedIn } from '../actor.js'
import { canAnywhere, isAdministrator } from '../access.js'

export function renderDocument(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`
}

export function sendPage(reply: FastifyReply, page: VNode, status = 200): FastifyReply {
  return sendHtml(reply, renderDocument(page), status)
}

export function sendHtml(reply: FastifyReply, html: string | Buffer, status = 200): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(html)
}

/** The page context for this request; `alternates` maps each locale to this page's path in it. */
export function pageContext(req: FastifyRequest, alternates: Record<string, string> = {}): PageContext {
  return {
    locale: req.locale,
    t: translator(req.locale),
    brandName: req.server.site.brandName,
    stylesheet: req.server.site.stylesheet,
    alternates,
    signedIn: isSignedIn(req.actor),
    awaitingApproval: req.actor.kind === 'user' && req.actor.awaitingApproval,
    userName: req.actor.kind === 'user' ? req.actor.displayName : undefined,
    realm: req.actor.kind === 'user' ? req.actor.realm : undefined,
    consoles: req.actor.kind === 'user' ? { queue: canAnywhere(req.actor, 'view_tickets'), admin: isAdministrator(req.actor) } : undefined,
  }
}

/** Same path in every locale, for pages whose URL differs only by the locale prefix. */
export function samePathAlternates(req: FastifyRequest, locales: readonly string[]): Record<string, string> {
  const rest = req.url.split('?')[0]?.split('/').slice(2).join('/') ?? ''
  return Object.fromEntries(locales.map((l) => [l, `/${l}/${rest}`]))
}
