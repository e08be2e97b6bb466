#!/usr/bin/env node
// A stand-in for Oasis (tests only), shaped like upstream's src/index.js and src/http.js.
'use strict'
const fs = require('fs'), path = require('path'), os = require('os'), http = require('http')
const net = require('net'), qs = require('querystring')
const ssbKeys = require('ssb-keys')
const known = ['open', 'offline', 'host', 'allow-host', 'port', 'public', 'debug', 'theme']
const conf = { host: 'localhost', port: 3000, open: true, 'allow-host': null }
const args = process.argv.slice(2)
for (let i = 0; i < args.length; i++) {
  let k = args[i].replace(/^--/, '')
  const no = k.startsWith('no-')
  if (no) k = k.slice(3)
  if (!known.includes(k)) throw new Error('unknown flag ' + args[i])
  conf[k] = no ? false : args[++i]
}
if (conf.open !== false) throw new Error('would open a browser')
const ssbDir = path.join(os.homedir(), '.ssb')
const keys = ssbKeys.loadSync(path.join(ssbDir, 'secret'))
const ssbConf = JSON.parse(fs.readFileSync(path.join(ssbDir, 'config'), 'utf8'))
fs.appendFileSync(path.join(ssbDir, 'standin-starts.log'), `start ${keys.id}\n`)
net.createServer((s) => s.end()).listen(ssbConf.port, '0.0.0.0')
net.createServer((s) => s.end()).listen(ssbConf.ws.port, ssbConf.connections.incoming.ws[0].host)
const dbFile = path.join(ssbDir, 'standin-db.json')
const db = fs.existsSync(dbFile) ? JSON.parse(fs.readFileSync(dbFile, 'utf8'))
  : { name: '', description: '', follows: [] }
const save = () => fs.writeFileSync(dbFile, JSON.stringify(db))
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;')
  .replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const validHosts = []
const readBody = (req) => new Promise((resolve) => {
  const c = []
  req.on('data', (d) => c.push(d))
  req.on('end', () => resolve(Buffer.concat(c)))
})
function multipart (body, type) {
  const boundary = /boundary=(.+)$/.exec(type)[1]
  const out = {}
  for (const chunk of body.toString('utf8').split('--' + boundary).slice(1, -1)) {
    const [head, ...rest] = chunk.replace(/^\r\n/, '').split('\r\n\r\n')
    const name = /name="([^"]*)"/.exec(head)[1]
    out[name] = { file: /filename="/.test(head), value: rest.join('\r\n\r\n').replace(/\r\n$/, '') }
  }
  return out
}
const server = http.createServer(async (req, res) => {
  const hostname = (req.headers.host || '').replace(/:[0-9]+$/, '')
  let ok = validHosts.includes(hostname)
  if (ok && req.method !== 'GET') {
    try { ok = validHosts.includes(new URL(req.headers.referer).hostname) } catch (e) { ok = false }
  }
  if (!ok) {
    res.writeHead(400)
    res.end('Request must be addressed to ' + validHosts.join(' or '))
    return
  }
  const send = (text) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(text) }
  const go = (where) => { res.writeHead(302, { Location: where }); res.end() }
  const url = new URL(req.url, 'http://x')
  if (req.method === 'GET' && url.pathname === '/.well-known/oasis') return send('oasis')
  if (req.method === 'GET' && url.pathname === '/profile') {
    return send(`<h1>${esc(db.name)}</h1>` +
      `<pre class="md-mention">[@${esc(db.name)}](${keys.id})</pre>`)
  }
  if (req.method === 'GET' && url.pathname === '/profile/edit') {
    return send('<form action="/profile/edit" method="POST" enctype="multipart/form-data">' +
      '<input type="file" name="image" accept="image/*"/>' +
      `<input name="name" value="${esc(db.name)}"/>` +
      `<textarea autofocus name="description">${esc(db.description)}</textarea></form>`)
  }
  if (req.method === 'GET' && url.pathname.startsWith('/author/')) {
    const feed = decodeURIComponent(url.pathname.slice(8).replace(/\/$/, ''))
    const action = db.follows.includes(feed) ? 'unfollow' : 'follow'
    return send(`<form action="/${action}/${encodeURIComponent(feed)}" method="post"></form>`)
  }
  if (req.method === 'POST' && url.pathname === '/profile/edit') {
    const form = multipart(await readBody(req), req.headers['content-type'])
    if (!form.image || !form.image.file || !form.name || !form.description) {
      res.writeHead(500); res.end('missing part'); return
    }
    db.name = form.name.value; db.description = form.description.value; save()
    return go('/profile')
  }
  if (req.method === 'POST' && url.pathname === '/settings/invite/accept') {
    const invite = String(qs.parse((await readBody(req)).toString('utf8')).invite)
    const m = /^[^~]+:(@[A-Za-z0-9+/]{43}=\.ed25519)~[A-Za-z0-9+/]{43}=$/.exec(invite)
    if (!m) { res.writeHead(500); res.end('invalid invite'); return }
    if (!db.follows.includes(m[1])) db.follows.push(m[1])
    save()
    go('/settings')
    setTimeout(() => process.exit(0), 200) // as Oasis does after a redemption
    return
  }
  res.writeHead(404); res.end('not found')
})
server.listen({ host: conf.host, port: Number(conf.port) }, () => {
  validHosts.push(server.address().address)
  if (conf['allow-host']) validHosts.push(conf['allow-host'])
  if (!validHosts.includes(conf.host)) validHosts.push(conf.host)
})
