import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers'

/**
 * A passkey authenticator in the test process (ES256, "none" attestation), for service-level tests
 * that need answers a browser would give, including ones a real authenticator would not (an old
 * counter, a replayed answer). The browser tests use Chromium's virtual authenticator instead.
 */
const b64 = (bytes: Uint8Array | Buffer | string) => isoBase64URL.fromBuffer(typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes)) : new Uint8Array(bytes))
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }

export interface SoftPasskey {
  id: string
  /** The answer to a registration prompt's options. */
  register(options: { challenge: string }): object
  /** The answer to a sign-in prompt, with the counter the authenticator claims and whether it verified its user. */
  authenticate(options: { challenge: string }, input: { counter: number; userVerified?: boolean }): object
}

export function softPasskey(publicUrl: string): SoftPasskey {
  const { origin, hostname } = new URL(publicUrl)
  const { privateKey, publicKey }: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const credentialId = randomBytes(16)
  const id = b64(credentialId)
  const coseKey = isoCBOR.encode(new Map<number, number | Uint8Array>([
    [1, 2], [3, -7], [-1, 1],
    [-2, new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'))], [-3, new Uint8Array(Buffer.from(jwk.y ?? '', 'base64url'))],
  ]))
  const rpIdHash = sha256(hostname)
  const clientData = (type: string, challenge: string) => Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  return {
    id,
    register(options) {
      const attested = Buffer.concat([Buffer.alloc(16), u16(credentialId.length), credentialId, coseKey])
      const authData = Buffer.concat([rpIdHash, Buffer.from([0x45]), u32(0), attested])
      const attestationObject = isoCBOR.encode(new Map<string, string | Map<string, string> | Uint8Array>([['fmt', 'none'], ['attStmt', new Map<string, string>()], ['authData', new Uint8Array(authData)]]))
      return {
        id, rawId: id, type: 'public-key', clientExtensionResults: {}, authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64(clientData('webauthn.create', options.challenge)), attestationObject: b64(attestationObject), transports: ['internal'] },
      }
    },
    authenticate(options, input) {
      const data = clientData('webauthn.get', options.challenge)
      const authData = Buffer.concat([rpIdHash, Buffer.from([input.userVerified === false ? 0x01 : 0x05]), u32(input.counter)])
      const signature = sign('sha256', Buffer.concat([authData, sha256(data)]), privateKey)
      return {
        id, rawId: id, type: 'public-key', clientExtensionResults: {}, authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64(data), authenticatorData: b64(authData), signature: b64(signature) },
      }
    },
  }
}
