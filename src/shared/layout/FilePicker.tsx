import type { VNode } from 'preact'
import { versionedAssetUrl } from '../http/assets.js'
import type { PageContext } from './Page.js'

export const filePickerScriptUrl = versionedAssetUrl('file-picker.js')

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
