import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { VNode } from 'preact'
import { sourceDir } from '../../paths.js'
import type { PageContext } from './Page.js'

const script = readFileSync(path.join(sourceDir, 'public/file-picker.js'))
/** Served from /assets with its content hash, so it can be cached for a year. */
export const filePickerScriptUrl = `/assets/file-picker.js?v=${createHash('sha256').update(script).digest('hex').slice(0, 12)}`

/**
 * A file field whose button and "no file chosen" speak the page's language: the native control
 * stays (keyboard, screen readers, the form's upload) but is drawn by its own label, since a
 * browser writes its file button in the browser's language ("Choose Files" on an Italian page).
 * The field's own <label> is the caller's; this button is a second label for pointer users.
 */
export function FilePicker({ ctx, id, name, accept, multiple = false, required = false, describedBy }: {
  ctx: PageContext; id: string; name: string; accept: string; multiple?: boolean; required?: boolean; describedBy?: string | undefined
}): VNode {
  const { t } = ctx
  return (
    <span class="file-picker">
      <input id={id} name={name} type="file" class="file-input" accept={accept} multiple={multiple} required={required} aria-describedby={describedBy} />
      <label for={id} class="button secondary file-button" aria-hidden="true">{t(multiple ? 'files.chooseMany' : 'files.chooseOne')}</label>
      <span class="file-names" data-none={t('files.none')}></span>
      <script src={filePickerScriptUrl} defer />
    </span>
  )
}
