import type { Services } from '../composition.js'
import { systemActor, type Actor } from '../shared/actor.js'

/**
 * A few support requests for `npm start`, so the agent console has something to show: a guest's in
 * Italy, and a locked-out dealer's sign-in request in Germany with the identity details. Only on a
 * desk without any request.
 */
export async function seedDemoTickets(services: Services, publicUrl: string): Promise<number> {
  const system = systemActor('seed')
  if ((await services.desk.queue(system, { state: undefined })).total > 0) return 0
  const ctx = { publicUrl }
  await services.support.createTicket({ kind: 'guest' }, {
    topic: 'apps', subject: 'Il Service Manual mostra pagine vuote', urgency: 'normal', locale: 'it',
    description: 'Da stamattina il Service Manual si apre ma ogni pagina è vuota. Mi aspettavo gli schemi elettrici della Demo Motors Aria. Ho provato con Chrome e con Edge.',
    name: 'Paolo Ospite', email: 'paolo@officina-ospite.example', companyName: 'Officina Ospite', companyAddress: 'Via Nuova 3, 20100 Milano', marketCode: 'IT',
  }, ctx)
  await services.support.createTicket({ kind: 'guest' }, {
    topic: 'apps', subject: 'Garantieanträge: Seite lädt nicht', urgency: 'normal', locale: 'de',
    description: 'Seit gestern bleibt die Seite der Garantieanträge beim Laden stehen. Ich erwarte die Liste meiner offenen Anträge. Keine Fehlermeldung.',
    name: 'Jonas Gast', email: 'jonas@gast-werkstatt.example', companyName: 'Gast Werkstatt', companyAddress: 'Ringstraße 5, 50667 Köln', marketCode: 'DE',
  }, ctx)
  const mrossi = await services.auth.findAccount(system, 'partner', 'mrossi')
  if (mrossi) {
    const actor: Actor = await services.auth.actorFor(mrossi.id)
    await services.support.createTicket(actor, {
      topic: 'password', subject: 'Account bloccato dopo troppi tentativi', urgency: 'urgent', locale: 'it',
      description: 'Stamattina ho inserito più volte una vecchia password e ora il mio account è bloccato. Messaggio: "Il tuo account è temporaneamente bloccato".',
      identity: {
        userId: 'mrossi', firstName: 'Mario', lastName: 'Rossi', email: 'mario.rossi@autofficina-rossi.example',
        companyName: 'Autofficina Rossi S.r.l.', companyAddress: 'Via Emilia 120, 40133 Bologna',
      },
    }, ctx)
  }
  return mrossi ? 3 : 2
}
