import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../shared/errors.js'
import { toAppError } from '../../shared/http/errors.js'
import { t } from '../../shared/i18n/index.js'
import { resourceTypes, schemas, serviceProviderConfig } from './scim.discovery.js'
import { SCHEMA, ScimProblem } from './scim.resources.js'
import type { ScimService } from './scim.service.js'

export const SCIM_PREFIX = '/scim/v2'
const CONTENT_TYPE = 'application/scim+json; charset=utf-8'

const ListQuery = Type.Object({
  filter: Type.Optional(Type.String({ maxLength: 1000 })),
  startIndex: Type.Optional(Type.String({ maxLength: 12 })),
  count: Type.Optional(Type.String({ maxLength: 12 })),
  attributes: Type.Optional(Type.String({ maxLength: 500 })),
  excludedAttributes: Type.Optional(Type.String({ maxLength: 500 })),
})
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) })

/** SCIM's `scimType` for an error of ours (RFC 7644 §3.12). */
function scimTypeOf(error: AppError): string | undefined {
  switch (error.code) {
    case 'USER_ID_TAKEN':
    case 'EMAIL_IN_USE':
      return 'uniqueness'
    case 'INVALID_INPUT':
    case 'PROVISIONING_COMPANY_UNKNOWN':
      return 'invalidValue'
    case 'INVALID_ENCODING':
    case 'INVALID_TEXT':
      return 'invalidSyntax'
    default:
      return error.status === 422 ? 'invalidValue' : undefined
  }
}

/** An error in SCIM's JSON shape, its detail in the request's language; a broken rule of ours (422) is SCIM's 400. */
function sendScimError(req: FastifyRequest, reply: FastifyReply, problem: AppError | ScimProblem): FastifyReply {
  const error = problem instanceof ScimProblem ? problem.error : problem
  const scimType = problem instanceof ScimProblem ? problem.scimType : scimTypeOf(error)
  const status = error.status === 422 ? 400 : error.status
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="scim"')
  return reply.status(status).header('content-type', CONTENT_TYPE).header('cache-control', 'no-store').send({
    schemas: [SCHEMA.error], status: String(status), ...(scimType ? { scimType } : {}), detail: t(req.locale, `errors.${error.code}`, error.params),
  })
}

function send(reply: FastifyReply, status: number, body: unknown, version?: string): FastifyReply {
  if (version) void reply.header('etag', version)
  return reply.status(status).header('content-type', CONTENT_TYPE).header('cache-control', 'no-store').send(body)
}

/**
 * SCIM 2.0 (RFC 7644) under /scim/v2: Users, Groups (company roles) and the discovery resources.
 * Every request but discovery carries a provisioning token (`Authorization: Bearer scim_…`); the
 * routes parse and answer, the service and identity's provisioning use cases decide.
 */
export async function scimRoutes(root: FastifyInstance, options: { scim: ScimService; publicUrl: string }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { scim, publicUrl } = options
  const base = `${publicUrl}${SCIM_PREFIX}`
  const ctx = (req: FastifyRequest) => ({ requestId: req.id, ip: req.ip, publicUrl })

  app.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))
  app.setErrorHandler((error: FastifyError | AppError | ScimProblem, req, reply) => {
    if (error instanceof ScimProblem) return sendScimError(req, reply, error)
    const appError = toAppError(error, req.locale)
    if (appError.status >= 500) req.log.error({ err: error }, 'SCIM request failed')
    else req.log.info({ code: appError.code }, 'SCIM request refused')
    return sendScimError(req, reply, appError)
  })
  // SCIM bodies are JSON (application/scim+json, or application/json as many clients send); anything else is 415.
  app.addHook('onRequest', async (req) => {
    const type = req.headers['content-type']
    if (type !== undefined && !/^application\/(?:scim\+)?json\s*(?:;|$)/i.test(type)) throw new AppError('UNSUPPORTED_MEDIA_TYPE')
  })
  app.setNotFoundHandler((req, reply) => sendScimError(req, reply, new AppError('NOT_FOUND')))

  // Discovery needs no token (RFC 7644 §4): it says how to connect, nothing about anyone.
  app.get('/ServiceProviderConfig', (_req, reply) => send(reply, 200, serviceProviderConfig(base, `${publicUrl}/en/help`)))
  app.get('/Schemas', (_req, reply) => send(reply, 200, listResponse(schemas(base), schemas(base).length, 1)))
  app.get('/Schemas/:id', { schema: { params: IdParams } }, (req, reply) => {
    const found = schemas(base).find((s) => s.id === req.params.id)
    if (!found) throw new AppError('NOT_FOUND')
    return send(reply, 200, found)
  })
  app.get('/ResourceTypes', (_req, reply) => send(reply, 200, listResponse(resourceTypes(base), 2, 1)))
  app.get('/ResourceTypes/:id', { schema: { params: IdParams } }, (req, reply) => {
    const found = resourceTypes(base).find((r) => r.id === req.params.id)
    if (!found) throw new AppError('NOT_FOUND')
    return send(reply, 200, found)
  })

  await app.register(async (plain) => {
    const resources = plain.withTypeProvider<TypeBoxTypeProvider>()
    resources.addHook('preHandler', async (req) => {
      req.actor = await scim.authenticate(req.headers.authorization)
    })

    resources.get('/Users', { schema: { querystring: ListQuery } }, async (req, reply) => {
      const page = await scim.listUsers(req.actor, req.query, base)
      return send(reply, 200, listResponse(page.resources, page.total, page.startIndex))
    })
    resources.get('/Users/:id', { schema: { params: IdParams } }, async (req, reply) => {
      const user = await scim.getUser(req.actor, req.params.id, base)
      return send(reply, 200, user, user.meta.version)
    })
    resources.post('/Users', async (req, reply) => {
      const user = await scim.createUser(req.actor, req.body, ctx(req), base)
      void reply.header('location', user.meta.location)
      return send(reply, 201, user, user.meta.version)
    })
    resources.put('/Users/:id', { schema: { params: IdParams } }, async (req, reply) => {
      const user = await scim.replaceUser(req.actor, req.params.id, req.body, req.headers['if-match'], ctx(req), base)
      return send(reply, 200, user, user.meta.version)
    })
    resources.patch('/Users/:id', { schema: { params: IdParams } }, async (req, reply) => {
      const user = await scim.patchUser(req.actor, req.params.id, req.body, req.headers['if-match'], ctx(req), base)
      return send(reply, 200, user, user.meta.version)
    })
    resources.delete('/Users/:id', { schema: { params: IdParams } }, async (req, reply) => {
      await scim.deleteUser(req.actor, req.params.id, req.headers['if-match'], ctx(req))
      return reply.status(204).send()
    })

    resources.get('/Groups', { schema: { querystring: ListQuery } }, async (req, reply) => {
      const page = await scim.listGroups(req.actor, req.query, base)
      return send(reply, 200, listResponse(page.resources, page.total, page.startIndex))
    })
    resources.get('/Groups/:id', { schema: { params: IdParams, querystring: ListQuery } }, async (req, reply) => {
      const group = await scim.getGroup(req.actor, req.params.id, req.query, base)
      return send(reply, 200, group, group.meta.version)
    })
    resources.patch('/Groups/:id', { schema: { params: IdParams } }, async (req, reply) => {
      const group = await scim.patchGroup(req.actor, req.params.id, req.body, req.headers['if-match'], ctx(req), base)
      return send(reply, 200, group, group.meta.version)
    })
    resources.put('/Groups/:id', { schema: { params: IdParams } }, async (req, reply) => {
      const group = await scim.replaceGroup(req.actor, req.params.id, req.body, req.headers['if-match'], ctx(req), base)
      return send(reply, 200, group, group.meta.version)
    })
    // A company's groups come and go with the company: they are not created or deleted by SCIM.
    const fixed = () => { throw new AppError('METHOD_NOT_ALLOWED') }
    resources.post('/Groups', fixed)
    resources.delete('/Groups/:id', { schema: { params: IdParams } }, fixed)
  })
}

function listResponse(resources: unknown[], total: number, startIndex: number) {
  return { schemas: [SCHEMA.list], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources }
}
