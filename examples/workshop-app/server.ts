import { createWorkshopApp } from './app.js'

/** `npm run demo:app`: the workshop app on its own port, signing in through Sportello at PORTAL_URL. */
const port = Number(process.env.WORKSHOP_PORT ?? 3910)
const issuer = (process.env.PORTAL_URL ?? 'http://localhost:3000').replace(/\/$/, '')
const baseUrl = `http://localhost:${String(port)}`
const app = await createWorkshopApp({ issuer, clientId: process.env.WORKSHOP_CLIENT_ID ?? 'workshop-app', baseUrl, insecure: new URL(issuer).protocol === 'http:' })
app.listen(port, '127.0.0.1', () => {
  console.log(`Workshop app (a connected app) at ${baseUrl}, signing in through ${issuer}`)
})
