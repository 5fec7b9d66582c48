// File fields: the page's own "choose files" button (the browser's would speak the browser's
// language, not the page's) and, once files are chosen, their names in place of "no file chosen".
// Without this script the button still opens the file chooser and the form still sends the files.
(function () {
  'use strict'
  document.querySelectorAll('.file-picker').forEach(function (picker) {
    if (picker.hasAttribute('data-ready')) return
    picker.setAttribute('data-ready', '')
    const input = picker.querySelector('input[type=file]')
    const names = picker.querySelector('.file-names')
    if (!input || !names) return
    const none = names.getAttribute('data-none') || ''
    names.textContent = none
    input.addEventListener('change', function () {
      const files = Array.prototype.map.call(input.files || [], function (file) { return file.name })
      names.textContent = files.length > 0 ? files.join(', ') : none
    })
  })
})()
