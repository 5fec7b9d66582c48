import { AppError } from '../../shared/errors.js'
import type { NewAttachment } from './support.repo.js'

export const MAX_ATTACHMENTS = 5
export const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024

/** What a ticket accepts, recognised from the bytes (the sender's name and type are not trusted). */
export const ATTACHMENT_TYPES: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
}

/** A file as the form sent it. */
export interface UploadedFile { fileName: string; content: Buffer }

/** A name safe to show and to offer as a download name: no path, no control characters, not too long. */
export function cleanFileName(name: string, ext: string): string {
  const base = (name.split(/[\\/]/).pop() ?? '').normalize('NFC').replace(/[\p{Cc}\p{Cf}"<>:*?|]/gu, '').trim().slice(0, 120)
  const stem = base.replace(/\.[^.]*$/, '') || 'attachment'
  return `${stem}.${ext}`
}

/**
 * Checks every file before anything is stored: at most 5, each at most 5 MB and a PNG, JPEG,
 * WebP or PDF by its content. One bad file refuses the whole request.
 */
export async function checkAttachments(files: UploadedFile[]): Promise<NewAttachment[]> {
  if (files.length > MAX_ATTACHMENTS) throw new AppError('ATTACHMENT_TOO_MANY', { max: MAX_ATTACHMENTS })
  const checked: NewAttachment[] = []
  // file-type and its readers load with the first upload, not with every process.
  const { fileTypeFromBuffer } = await import('file-type')
  for (const file of files) {
    if (file.content.length > MAX_ATTACHMENT_BYTES) throw new AppError('ATTACHMENT_TOO_LARGE', { name: cleanFileName(file.fileName, 'bin'), max: MAX_ATTACHMENT_BYTES / 1024 / 1024 })
    const found = file.content.length > 0 ? await fileTypeFromBuffer(file.content) : undefined
    const ext = found ? ATTACHMENT_TYPES[found.mime] : undefined
    if (!found || !ext) throw new AppError('ATTACHMENT_TYPE', { name: cleanFileName(file.fileName, found?.ext ?? 'bin') })
    checked.push({ fileName: cleanFileName(file.fileName, ext), contentType: found.mime, content: file.content })
  }
  return checked
}
