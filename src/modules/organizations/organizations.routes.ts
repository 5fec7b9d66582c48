import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales } from '../../shared/i18n/index.js'
import { pageContext, sendPage } from '../../shared/http/render.js'
import { PartnersPage } from './organizations.pages.js'
import type { OrganizationsService } from './organizations.service.js'

/** The market a visitor most likely means: their company's, else the one whose language the page is in. */
export const marketOfLocale: Record<string, string> = { it: 'IT', de: 'DE', en: 'GB' }

export async function organizationsRoutes(root: FastifyInstance, opts: { organizations: OrganizationsService }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { organizations } = opts

  app.get('/:locale/partners', {
    schema: {
      hide: true,
      params: Type.Object({ locale: Type.String({ maxLength: 20 }) }),
      querystring: Type.Object({ market: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })) }),
    },
  }, async (req, reply) => {
    const { locale } = req.params
    if (!isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND')
    const [markets, mine] = await Promise.all([organizations.listMarkets(req.actor), organizations.myPartner(req.actor)])
    const market = req.query.market ?? mine?.marketCode ?? marketOfLocale[locale] ?? markets[0]?.code ?? ''
    if (!markets.some((m) => m.code === market)) throw new AppError('NOT_FOUND')
    const partners = await organizations.partnerDirectory(req.actor, market)
    void reply.header('cache-control', 'private, no-cache')
    const query = req.query.market ? `?market=${market}` : ''
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/partners${query}`]))
    return sendPage(reply, PartnersPage({ ctx: pageContext(req, alternates), markets, market, partners, mine }))
  })
}
