/** The discovery resources of RFC 7644 §4: what this service provider supports, its schemas and resource types. */
import { MAX_RESULTS, SCHEMA } from './scim.resources.js'

interface Attribute {
  name: string
  type: 'string' | 'boolean' | 'complex' | 'dateTime' | 'reference'
  multiValued?: boolean
  required?: boolean
  mutability?: 'readOnly' | 'readWrite' | 'immutable'
  uniqueness?: 'none' | 'server'
  caseExact?: boolean
  referenceTypes?: string[]
  subAttributes?: Attribute[]
  description: string
}

function attribute(a: Attribute): Record<string, unknown> {
  return {
    name: a.name, type: a.type, multiValued: a.multiValued ?? false, description: a.description, required: a.required ?? false,
    caseExact: a.caseExact ?? false, mutability: a.mutability ?? 'readWrite', returned: 'default', uniqueness: a.uniqueness ?? 'none',
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(attribute) } : {}),
  }
}

const userAttributes: Attribute[] = [
  { name: 'userName', type: 'string', required: true, uniqueness: 'server', description: 'The user ID: 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit; unique ignoring case.' },
  {
    name: 'name', type: 'complex', required: true, description: 'First and last name.', subAttributes: [
      { name: 'givenName', type: 'string', required: true, description: 'First name, 1 to 100 characters.' },
      { name: 'familyName', type: 'string', required: true, description: 'Last name, 1 to 100 characters.' },
      { name: 'formatted', type: 'string', mutability: 'readOnly', description: 'First and last name.' },
    ],
  },
  { name: 'displayName', type: 'string', mutability: 'readOnly', description: 'First and last name.' },
  {
    name: 'emails', type: 'complex', multiValued: true, uniqueness: 'server', description: 'One address (the primary one is kept); a new address is confirmed by the person at the next sign-in. The invitation goes to it.', subAttributes: [
      { name: 'value', type: 'string', description: 'The address.' },
      { name: 'primary', type: 'boolean', description: 'The address kept.' },
      { name: 'type', type: 'string', description: 'work' },
    ],
  },
  { name: 'preferredLanguage', type: 'string', description: 'The language of the portal and its emails: it, en or de.' },
  { name: 'active', type: 'boolean', description: 'May sign in. false switches the account off (sessions and app access end); true gives access back (clients scoped to a market only).' },
  {
    name: 'groups', type: 'complex', multiValued: true, mutability: 'readOnly', description: "The company's groups the account is in.", subAttributes: [
      { name: 'value', type: 'string', mutability: 'readOnly', description: 'Group id.' },
      { name: 'display', type: 'string', mutability: 'readOnly', description: 'Group name.' },
      { name: '$ref', type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly', description: 'Group address.' },
    ],
  },
]

const groupAttributes: Attribute[] = [
  { name: 'displayName', type: 'string', required: true, mutability: 'readOnly', uniqueness: 'server', description: 'Company number, then "users" or "organization administrators".' },
  {
    name: 'members', type: 'complex', multiValued: true, description: 'Accounts of the company; only the organization administrators group can be changed.', subAttributes: [
      { name: 'value', type: 'string', mutability: 'immutable', description: 'User id.' },
      { name: 'display', type: 'string', mutability: 'readOnly', description: 'User ID.' },
      { name: '$ref', type: 'reference', referenceTypes: ['User'], mutability: 'immutable', description: 'User address.' },
      { name: 'type', type: 'string', mutability: 'immutable', description: 'User' },
    ],
  },
]

const enterpriseAttributes: Attribute[] = [
  { name: 'organization', type: 'string', mutability: 'immutable', description: 'The company number. Required when creating with a token scoped to a market; a token scoped to a company uses its own.' },
]

export function schemas(base: string) {
  const schema = (id: string, name: string, description: string, attributes: Attribute[]) => ({
    schemas: [SCHEMA.schema], id, name, description, attributes: attributes.map(attribute),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  })
  return [
    schema(SCHEMA.user, 'User', 'An account of the partner realm.', userAttributes),
    schema(SCHEMA.group, 'Group', "A company role: the company's users, or its organization administrators.", groupAttributes),
    schema(SCHEMA.enterprise, 'EnterpriseUser', 'The company the account belongs to.', enterpriseAttributes),
  ]
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: [SCHEMA.resourceType], id: 'User', name: 'User', endpoint: '/Users', description: 'Accounts of the partner realm', schema: SCHEMA.user,
      schemaExtensions: [{ schema: SCHEMA.enterprise, required: false }], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [SCHEMA.resourceType], id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Company roles', schema: SCHEMA.group,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ]
}

export function serviceProviderConfig(base: string, documentationUri: string) {
  return {
    schemas: [SCHEMA.config],
    documentationUri,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A provisioning token of a machine client (sportello scim token), scoped to one company or one market.', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  }
}
