/** What connected apps are told of each way of signing in (amr per RFC 8176, and the two acr levels). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACR, authenticationContext } from './second-factor.js'

test('a password alone is the password level; any second factor, or a passkey that verified its user, is the second-factor level with mfa', () => {
  assert.deepEqual(authenticationContext(['pwd']), { amr: ['pwd'], acr: ACR.password })
  // An authenticator code or a recovery code (both stored as otp).
  assert.deepEqual(authenticationContext(['pwd', 'otp']), { amr: ['pwd', 'otp', 'mfa'], acr: ACR.secondFactor })
  // A passkey as the second step.
  assert.deepEqual(authenticationContext(['pwd', 'hwk']), { amr: ['pwd', 'hwk', 'mfa'], acr: ACR.secondFactor })
  // A passkey without a password: possession, and the PIN or biometric its authenticator verified.
  assert.deepEqual(authenticationContext(['hwk', 'user']), { amr: ['hwk', 'user', 'mfa'], acr: ACR.secondFactor })
  // A passkey without user verification is one factor: never "mfa".
  assert.deepEqual(authenticationContext(['hwk']), { amr: ['hwk'], acr: ACR.secondFactor })
  assert.deepEqual(authenticationContext([]), { amr: [], acr: ACR.password })
})
