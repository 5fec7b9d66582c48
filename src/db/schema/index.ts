export * from './helpcenter.js'
export * from './identity.js'
export * from './organizations.js'
export * from './platform.js'
