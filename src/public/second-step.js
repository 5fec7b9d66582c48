// The second step of a sign-in is the answer to the password form (a POST). The address bar is set
// to the step's own page, so that a reload or the back button later opens that page (while the step
// is pending; else the sign-in) instead of sending the password again. Without this script a reload
// sends the form again, which starts a new step: harmless.
(function () {
  'use strict'
  const form = document.querySelector('form[data-step-address]')
  const address = form && form.getAttribute('data-step-address')
  if (!address || !window.history || !window.history.replaceState) return
  window.history.replaceState(window.history.state, '', address)
})()
