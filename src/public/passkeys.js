// Passkeys: a form marked data-passkey ("register" or "authenticate") asks the browser for a passkey
// through @simplewebauthn/browser (loaded before this file), puts the answer (JSON) in its hidden
// "response" field and submits; the server checks everything. The prompt's options are in the form
// (data-options) or fetched from data-options-url with the form's CSRF token. Elements marked
// data-passkey-only stay hidden where the browser has no passkeys (or no script runs).
(function () {
  'use strict'
  const lib = window.SimpleWebAuthnBrowser
  if (!lib || !lib.browserSupportsWebAuthn()) return
  document.querySelectorAll('[data-passkey-only]').forEach(function (el) { el.hidden = false })
  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    const field = form.querySelector('input[name=response]')
    const error = form.querySelector('[data-passkey-error]')
    form.addEventListener('submit', function (event) {
      if (!field || field.value) return
      event.preventDefault()
      if (error) error.hidden = true
      ask(form).then(function (answer) {
        field.value = JSON.stringify(answer)
        form.submit()
      }, function () {
        if (error) {
          error.hidden = false
          error.focus()
        }
      })
    })
  })

  async function options(form) {
    const url = form.getAttribute('data-options-url')
    if (!url) return JSON.parse(form.getAttribute('data-options') || '{}')
    const csrf = form.querySelector('input[name=_csrf]')
    const res = await fetch(url, {
      method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' },
      body: new URLSearchParams({ _csrf: csrf ? csrf.value : '' }),
    })
    if (!res.ok) throw new Error('passkey options: ' + res.status)
    return res.json()
  }

  async function ask(form) {
    const optionsJSON = await options(form)
    return form.getAttribute('data-passkey') === 'register'
      ? lib.startRegistration({ optionsJSON: optionsJSON })
      : lib.startAuthentication({ optionsJSON: optionsJSON })
  }
})()
