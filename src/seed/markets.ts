import type { MarketInput } from '../modules/organizations/index.js'

const weekdays = (from: string, to: string) => ({ 1: [from, to], 2: [from, to], 3: [from, to], 4: [from, to], 5: [from, to] }) as MarketInput['businessHours']

/** The demo tenant's markets. Phone numbers use ranges reserved for fiction or documentation. */
export const demoMarkets: MarketInput[] = [
  { code: 'IT', names: { it: 'Italia', en: 'Italy', de: 'Italien' }, defaultLocale: 'it', timeZone: 'Europe/Rome', supportEmail: 'supporto.it@demo-motors.example', supportPhone: '+39 02 0000 1234', businessHours: weekdays('08:30', '17:30') },
  { code: 'DE', names: { it: 'Germania', en: 'Germany', de: 'Deutschland' }, defaultLocale: 'de', timeZone: 'Europe/Berlin', supportEmail: 'support.de@demo-motors.example', supportPhone: '+49 30 0000 1234', businessHours: weekdays('08:00', '18:00') },
  { code: 'AT', names: { it: 'Austria', en: 'Austria', de: 'Österreich' }, defaultLocale: 'de', timeZone: 'Europe/Vienna', supportEmail: 'support.at@demo-motors.example', supportPhone: '+43 1 0000 1234', businessHours: weekdays('08:00', '17:00') },
  { code: 'CH', names: { it: 'Svizzera', en: 'Switzerland', de: 'Schweiz' }, defaultLocale: 'de', timeZone: 'Europe/Zurich', supportEmail: 'support.ch@demo-motors.example', supportPhone: '+41 44 000 12 34', businessHours: weekdays('08:00', '17:00') },
  { code: 'GB', names: { it: 'Regno Unito', en: 'United Kingdom', de: 'Vereinigtes Königreich' }, defaultLocale: 'en', timeZone: 'Europe/London', supportEmail: 'support.uk@demo-motors.example', supportPhone: '+44 20 7946 0123', businessHours: weekdays('09:00', '17:30') },
]
