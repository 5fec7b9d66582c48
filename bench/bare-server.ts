/** The baseline for page benchmarks: a bare Fastify route answering a fixed HTML file. Its own process, like the server's. */
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

const [file = '', port = '3902'] = process.argv.slice(2)
const html = readFileSync(file, 'utf8')
const app = Fastify({ logger: false })
app.get('/static', async (_req, reply) => reply.type('text/html; charset=utf-8').send(html))
await app.listen({ port: Number(port), host: '127.0.0.1' })
console.log('ready')
