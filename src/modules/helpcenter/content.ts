/**
 * Help content as files: content/<locale>/<category>/_category.md and
 * <slug>.md with YAML front matter. Parsing, validation, Markdown rendering
 * and the canonical form that import hashes and export writes.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import matter from 'gray-matter'
import MarkdownIt from 'markdown-it'
import container from 'markdown-it-container'
import Type from 'typebox'
import Value from 'typebox/value'
import { locales } from '../../shared/i18n/index.js'
import type { BranchDraft, CategoryDraft, ArticleDraft } from './helpcenter.schemas.js'
import { ArticleFrontMatter, CategoryFrontMatter } from './helpcenter.schemas.js'

export class ContentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Content has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ContentError'
  }
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const BRANCH_OPEN = /^branch\s+([a-z0-9]+(?:-[a-z0-9]+)*)\s*\|\s*(.+)$/

/** Marks where the page inserts a branch's own "did this solve it?" form. */
export function branchFeedbackMarker(id: string): string {
  return `<!--branch-feedback:${id}-->`
}

function createMarkdown() {
  // html: false — any HTML in content is shown as text, never rendered.
  const md = new MarkdownIt({ html: false, linkify: false, typographer: true })
  md.use(container, 'branch', {
    validate: (params: string) => BRANCH_OPEN.test(params.trim()),
    render: (tokens: { nesting: number; info: string }[], idx: number) => {
      const token = tokens[idx]
      if (!token) return ''
      const match = BRANCH_OPEN.exec(token.info.trim())
      if (token.nesting === 1 && match) {
        const [, id = '', label = ''] = match
        return `<details class="branch" id="branch-${id}"><summary>${md.utils.escapeHtml(label.trim())}</summary><div class="branch-body">\n`
      }
      // The closing token does not carry the id: find it from the matching opener.
      let depth = 0
      for (let i = idx - 1; i >= 0; i--) {
        const t = tokens[i] as { nesting: number; info: string; type: string } | undefined
        if (!t || t.type !== 'container_branch_open' && t.type !== 'container_branch_close') continue
        if (t.type === 'container_branch_close') depth++
        else if (depth === 0) {
          const opener = BRANCH_OPEN.exec(t.info.trim())
          return `${branchFeedbackMarker(opener?.[1] ?? '')}</div></details>\n`
        } else depth--
      }
      return '</div></details>\n'
    },
  })
  return md
}

const md = createMarkdown()

export interface RenderedBody {
  html: string
  text: string
  branches: BranchDraft[]
}

/** Renders article Markdown to safe HTML, plain text for search, and the branch tree. */
export function renderArticleBody(markdown: string): RenderedBody {
  const tokens = md.parse(markdown, {})
  const branches: BranchDraft[] = []
  const stack: string[] = []
  const text: string[] = []
  for (const token of tokens) {
    if (token.type === 'container_branch_open') {
      const match = BRANCH_OPEN.exec(token.info.trim())
      const id = match?.[1] ?? ''
      branches.push({ id, label: (match?.[2] ?? '').trim(), parent: stack.at(-1) ?? null })
      stack.push(id)
      text.push(match?.[2] ?? '')
    } else if (token.type === 'container_branch_close') {
      stack.pop()
    } else if (token.type === 'inline') {
      for (const child of token.children ?? []) {
        if (child.type === 'text' || child.type === 'code_inline') text.push(child.content)
      }
    } else if (token.type === 'fence' || token.type === 'code_block') {
      text.push(token.content)
    }
  }
  return { html: md.renderer.render(tokens, md.options, {}), text: text.join(' ').replace(/\s+/g, ' ').trim(), branches }
}

function normalizeBody(body: string): string {
  const trimmed = body.replace(/\r\n?/g, '\n').replace(/^\s*\n/, '').trimEnd()
  return trimmed ? `${trimmed}\n` : ''
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex')
}

/** Fields in a fixed order: what import hashes and export writes, so that one is the other's inverse. */
export function categoryCanonical(c: Omit<CategoryDraft, 'sourceHash'>) {
  return { key: c.key, title: c.title, description: c.description, order: c.position }
}

export function articleCanonical(a: Omit<ArticleDraft, 'sourceHash'>) {
  return {
    key: a.key, title: a.title, summary: a.summary, order: a.position, audience: a.audience, tags: a.tags,
  }
}

export function categoryHash(c: Omit<CategoryDraft, 'sourceHash'>): string {
  return hash(categoryCanonical(c))
}

export function articleHash(a: Omit<ArticleDraft, 'sourceHash'>): string {
  return hash({ ...articleCanonical(a), categoryKey: a.categoryKey, slug: a.slug, body: a.bodyMarkdown })
}

function frontMatterProblems(schema: Type.TSchema, data: unknown, file: string): string[] {
  return [...Value.Errors(schema, data)].map((e) => `${file}: front matter ${e.instancePath || '/'} ${e.message}`)
}

export interface ContentSet {
  locales: string[]
  categories: CategoryDraft[]
  articles: ArticleDraft[]
}

async function directories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort()
}

/** Reads and validates a whole content directory; any problem anywhere rejects all of it. */
export async function readContentDir(dir: string): Promise<ContentSet> {
  const problems: string[] = []
  const set: ContentSet = { locales: [], categories: [], articles: [] }
  let localeDirs: string[]
  try {
    localeDirs = await directories(dir)
  } catch {
    throw new ContentError([`${dir}: not a readable directory`])
  }
  for (const locale of localeDirs) {
    if (!locales.includes(locale)) {
      problems.push(`${locale}/: no UI catalogue for locale "${locale}" (add src/shared/i18n/locales/${locale}.json first)`)
      continue
    }
    set.locales.push(locale)
    const articleKeys = new Map<string, string>()
    const articleSlugs = new Map<string, string>()
    const categoryKeys = new Map<string, string>()
    for (const categorySlug of await directories(path.join(dir, locale))) {
      const where = `${locale}/${categorySlug}`
      if (!SLUG.test(categorySlug)) problems.push(`${where}/: folder name must be a lowercase slug`)
      const files = (await readdir(path.join(dir, locale, categorySlug))).filter((f) => f.endsWith('.md')).sort()
      if (!files.includes('_category.md')) {
        problems.push(`${where}/_category.md: missing`)
        continue
      }
      const categoryFile = matter(await readFile(path.join(dir, locale, categorySlug, '_category.md'), 'utf8'), {})
      const categoryProblems = frontMatterProblems(CategoryFrontMatter, categoryFile.data, `${where}/_category.md`)
      problems.push(...categoryProblems)
      if (categoryProblems.length > 0) continue
      const cfm = categoryFile.data as Type.Static<typeof CategoryFrontMatter>
      if (categoryKeys.has(cfm.key)) problems.push(`${where}/_category.md: key "${cfm.key}" also used by ${categoryKeys.get(cfm.key) ?? ''}`)
      categoryKeys.set(cfm.key, where)
      const category = { locale, key: cfm.key, slug: categorySlug, title: cfm.title, description: cfm.description ?? '', position: cfm.order }
      set.categories.push({ ...category, sourceHash: categoryHash(category) })

      for (const file of files.filter((f) => f !== '_category.md')) {
        const fileWhere = `${where}/${file}`
        const slug = file.slice(0, -'.md'.length)
        if (!SLUG.test(slug)) problems.push(`${fileWhere}: file name must be a lowercase slug`)
        const parsed = matter(await readFile(path.join(dir, locale, categorySlug, file), 'utf8'), {})
        const fmProblems = frontMatterProblems(ArticleFrontMatter, parsed.data, fileWhere)
        problems.push(...fmProblems)
        if (fmProblems.length > 0) continue
        const fm = parsed.data as Type.Static<typeof ArticleFrontMatter>
        if (articleKeys.has(fm.key)) problems.push(`${fileWhere}: key "${fm.key}" also used by ${articleKeys.get(fm.key) ?? ''}`)
        if (articleSlugs.has(slug)) problems.push(`${fileWhere}: slug "${slug}" also used by ${articleSlugs.get(slug) ?? ''}`)
        articleKeys.set(fm.key, fileWhere)
        articleSlugs.set(slug, fileWhere)
        const bodyMarkdown = normalizeBody(parsed.content)
        if (!bodyMarkdown) problems.push(`${fileWhere}: empty body`)
        const rendered = renderArticleBody(bodyMarkdown)
        const ids = rendered.branches.map((b) => b.id)
        const dup = ids.find((id, i) => ids.indexOf(id) !== i)
        if (dup) problems.push(`${fileWhere}: branch id "${dup}" used twice`)
        const article = {
          locale, key: fm.key, categoryKey: cfm.key, slug, title: fm.title, summary: fm.summary ?? '',
          audience: fm.audience ?? 'all', tags: fm.tags ?? [], position: fm.order, bodyMarkdown,
        }
        set.articles.push({ ...article, sourceHash: articleHash(article) })
      }
    }
  }
  if (problems.length > 0) throw new ContentError(problems)
  return set
}

/** Writes a content set as files that readContentDir reads back to the same set. */
export async function writeContentDir(dir: string, set: ContentSet): Promise<number> {
  let written = 0
  const categoryByKey = new Map(set.categories.map((c) => [`${c.locale}/${c.key}`, c]))
  for (const category of set.categories) {
    const folder = path.join(dir, category.locale, category.slug)
    await mkdir(folder, { recursive: true })
    await writeFile(path.join(folder, '_category.md'), matter.stringify('', categoryCanonical(category)))
    written++
  }
  for (const article of set.articles) {
    const category = categoryByKey.get(`${article.locale}/${article.categoryKey}`)
    if (!category) throw new ContentError([`${article.locale}/${article.slug}: category ${article.categoryKey} missing`])
    await writeFile(
      path.join(dir, article.locale, category.slug, `${article.slug}.md`),
      matter.stringify(article.bodyMarkdown, articleCanonical(article)),
    )
    written++
  }
  return written
}
