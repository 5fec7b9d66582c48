// "Ask for help": while the subject is typed, help articles that may already answer it are shown
// (the help search API, in the page's language). Opening one is recorded; coming back and sending
// the request anyway marks that record, so what stays unmarked is a request that was not needed.
// The form works the same without this script.
(function () {
  'use strict'
  const form = document.querySelector('form[data-deflect]')
  if (!form || !window.fetch) return
  const subject = form.querySelector('#subject')
  const box = document.getElementById('deflect')
  const list = box && box.querySelector('ul')
  const field = form.querySelector('input[name=deflection]')
  const locale = form.getAttribute('data-locale') || 'en'
  if (!subject || !box || !list) return
  const storageKey = 'sp_deflection'
  try {
    const earlier = window.sessionStorage.getItem(storageKey)
    if (earlier && field) field.value = earlier
  } catch { /* storage switched off: nothing to remember */ }

  let timer = 0
  let last = ''
  let generation = 0
  subject.addEventListener('input', function () {
    window.clearTimeout(timer)
    timer = window.setTimeout(search, 300)
  })

  function search() {
    const q = subject.value.trim()
    if (q.length < 3) { box.hidden = true; last = ''; return }
    if (q === last) return
    last = q
    const mine = ++generation
    fetch('/api/v1/help/search?limit=5&locale=' + encodeURIComponent(locale) + '&q=' + encodeURIComponent(q), { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null })
      .then(function (data) {
        if (mine !== generation || !data) return
        const results = (data.results || []).slice(0, 5)
        list.replaceChildren.apply(list, results.map(function (hit) {
          const li = document.createElement('li')
          const a = document.createElement('a')
          a.href = hit.url
          a.textContent = hit.title
          a.setAttribute('data-slug', hit.slug)
          li.appendChild(a)
          return li
        }))
        box.hidden = results.length === 0
      })
      .catch(function () { /* offline or refused: the form still works */ })
  }

  function newId() {
    const bytes = new Uint8Array(16)
    window.crypto.getRandomValues(bytes)
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2) }).join('')
  }

  list.addEventListener('click', function (event) {
    const link = event.target instanceof Element ? event.target.closest('a[data-slug]') : null
    if (!link) return
    const id = newId()
    try { window.sessionStorage.setItem(storageKey, id) } catch { /* see above */ }
    if (field) field.value = id
    fetch('/api/v1/support/deflections', {
      method: 'POST', keepalive: true, credentials: 'same-origin', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: id, locale: locale, article: link.getAttribute('data-slug') }),
    }).catch(function () { /* not recorded: the article still opens */ })
  })
})()
