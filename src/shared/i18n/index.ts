import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import Negotiator from 'negotiator'
import { sourceDir } from '../../paths.js'

/**
 * UI catalogues live in ./locales/<locale>.json. A language is added by adding
 * a file (and content/<locale>/ for help articles): nothing else lists them.
 * `_meta` names the language and the PostgreSQL text search configuration
 * that stems it.
 */
interface Catalogue {
  _meta: { name: string; searchConfig: string }
  [key: string]: string | { name: string; searchConfig: string }
}

const localesDir = path.join(sourceDir, 'shared/i18n/locales')

function loadCatalogues(): Map<string, Catalogue> {
  const map = new Map<string, Catalogue>()
  for (const file of readdirSync(localesDir).sort()) {
    if (!file.endsWith('.json')) continue
    const locale = file.slice(0, -'.json'.length)
    map.set(locale, JSON.parse(readFileSync(path.join(localesDir, file), 'utf8')) as Catalogue)
  }
  return map
}

const catalogues = loadCatalogues()

export const DEFAULT_LOCALE = 'en'
export const locales: readonly string[] = [...catalogues.keys()]

export type Params = Record<string, string | number>

export function isLocale(value: unknown): value is string {
  return typeof value === 'string' && catalogues.has(value)
}

export function localeName(locale: string): string {
  return catalogues.get(locale)?._meta.name ?? locale
}

/** The PostgreSQL text search configuration (e.g. 'italian') for a locale. */
export function searchConfig(locale: string): string {
  return catalogues.get(locale)?._meta.searchConfig ?? 'simple'
}

export function catalogueKeys(locale: string): string[] {
  const catalogue = catalogues.get(locale)
  return catalogue ? Object.keys(catalogue).filter((k) => k !== '_meta') : []
}

function lookup(locale: string, key: string): string | undefined {
  const value = catalogues.get(locale)?.[key]
  return typeof value === 'string' ? value : undefined
}

/** A message as written in one catalogue, `{placeholders}` unfilled (for tests of the catalogues). */
export function catalogueText(locale: string, key: string): string | undefined {
  return lookup(locale, key)
}

/** Stands for a parameter the caller did not give: a user never sees `{name}`. */
const MISSING_PARAM = '…'

/** The brand of a portal whose BRAND_NAME is not set: the demo's. */
export const defaultBrandName = 'Demo Motors'

/** The brand the portal's texts, emails and articles name (`{brand}`): BRAND_NAME, set once at start. */
let brandName = defaultBrandName

/** Sets the brand every text's `{brand}` names (the composition does, from the configuration). */
export function setBrandName(name: string): void {
  brandName = name
}

export function currentBrandName(): string {
  return brandName
}

/**
 * Translates `key`, filling `{name}` placeholders from params (`{brand}` from the configured
 * brand unless given). Falls back to English, then to the key.
 */
export function t(locale: string, key: string, params: Params = {}): string {
  const template = lookup(locale, key) ?? lookup(DEFAULT_LOCALE, key) ?? key
  return template.replace(/\{(\w+)\}/g, (_whole, name: string) => {
    const value = params[name] ?? (name === 'brand' ? brandName : undefined)
    return value === undefined ? MISSING_PARAM : String(value)
  })
}

/** Picks `key.one` or `key.other` by the locale's plural rules. */
export function tn(locale: string, key: string, count: number, params: Params = {}): string {
  const form = new Intl.PluralRules(locale).select(count) === 'one' ? 'one' : 'other'
  return t(locale, `${key}.${form}`, { count, ...params })
}

export type Translate = (key: string, params?: Params) => string

export function translator(locale: string): Translate {
  return (key, params) => t(locale, key, params)
}

/** Chooses the best supported locale from an Accept-Language header. */
export function negotiateLocale(header: string | undefined): string {
  if (!header || header.length > 1000) return DEFAULT_LOCALE
  return new Negotiator({ headers: { 'accept-language': header } }).language([...locales]) ?? DEFAULT_LOCALE
}

export function formatDate(locale: string, date: Date): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long' }).format(date)
}

/**
 * A duration given in minutes, in words of the locale: whole days from two days on, else whole
 * hours, else minutes ("30 minuti", "24 Stunden", "7 days"), each through its plural keys.
 */
export function formatDuration(locale: string, minutes: number): string {
  if (minutes >= 2 * 1440 && minutes % 1440 === 0) return tn(locale, 'duration.days', minutes / 1440)
  if (minutes >= 60 && minutes % 60 === 0) return tn(locale, 'duration.hours', minutes / 60)
  return tn(locale, 'duration.minutes', Math.round(minutes))
}

/** "a, b and c" in the locale's own words. */
export function formatList(locale: string, items: readonly string[]): string {
  return new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' }).format(items)
}

/**
 * A label ("Indirizzo email") as a word inside a sentence ("indirizzo email"): German keeps its
 * capitalised nouns, and acronyms ("ID utente") stay as they are.
 */
export function inSentence(locale: string, label: string): string {
  if (locale.startsWith('de') || /^.\p{Lu}/u.test(label)) return label
  return label.charAt(0).toLocaleLowerCase(locale) + label.slice(1)
}
