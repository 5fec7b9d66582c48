import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { AppError } from '../../shared/errors.js'
import { isLocale, locales } from '../../shared/i18n/index.js'
import { pageContext, sendPage } from '../../shared/http/render.js'
import type { OrganizationsService } from '../organizations/index.js'
import { AskForHelpPage } from './support.pages.js'

const Key = Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })

export async function supportRoutes(root: FastifyInstance, opts: { organizations: OrganizationsService }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()

  // Until the support desk's ticket form exists, "Ask for help" tells the
  // visitor how to reach their market's team, with the help context carried along.
  app.get('/:locale/support/new', {
    schema: {
      hide: true,
      params: Type.Object({ locale: Type.String({ maxLength: 20 }) }),
      querystring: Type.Object({ topic: Type.Optional(Key), article: Type.Optional(Key), branch: Type.Optional(Key) }),
    },
  }, async (req, reply) => {
    if (!isLocale(req.params.locale)) throw new AppError('LOCALE_NOT_FOUND', { locale: req.params.locale })
    const markets = await opts.organizations.listMarkets(req.actor)
    const query = new URLSearchParams(req.query).toString()
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/support/new${query ? `?${query}` : ''}`]))
    return sendPage(reply, AskForHelpPage({ ctx: pageContext(req, alternates), markets, context: req.query }))
  })
}
