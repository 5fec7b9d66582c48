import Bowser from 'bowser'
import type { Translate } from '../../shared/i18n/index.js'

/**
 * A session's device as a person names it ("Chrome on Windows"), read from the browser's user
 * agent by bowser; the raw string means nothing to most people. Unknown parts are left out.
 */
export function deviceName(t: Translate, userAgent: string | null | undefined): string {
  if (!userAgent) return t('account.unknownDevice')
  const parsed = Bowser.parse(userAgent.slice(0, 300))
  const browser = parsed.browser.name
  const os = parsed.os.name
  if (browser && os) return t('account.deviceOn', { browser, os })
  return browser || os || t('account.unknownDevice')
}
