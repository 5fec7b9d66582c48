import assert from 'node:assert/strict'
import { test } from 'node:test'
import { translator } from '../../shared/i18n/index.js'
import { deviceName } from './device-name.js'

const chromeOnWindows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const safariOnIphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'
const firefoxOnLinux = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'

test('the account page names a device by browser and system, in the reader\'s language', () => {
  assert.equal(deviceName(translator('en'), chromeOnWindows), 'Chrome on Windows')
  assert.equal(deviceName(translator('it'), chromeOnWindows), 'Chrome su Windows')
  assert.equal(deviceName(translator('de'), safariOnIphone), 'Safari unter iOS')
  assert.equal(deviceName(translator('en'), firefoxOnLinux), 'Firefox on Linux')
})

test('a missing or unreadable user agent is an unknown device, never the raw string', () => {
  assert.equal(deviceName(translator('en'), null), 'Unknown device')
  assert.equal(deviceName(translator('it'), 'x'.repeat(50)), 'Dispositivo sconosciuto')
  assert.equal(deviceName(translator('de'), undefined), 'Unbekanntes Gerät')
})
