export * from './helpcenter.js'
export * from './organizations.js'
