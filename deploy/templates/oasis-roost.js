// Written by roost (ssb-oasis). Talks to Oasis's own web page on this host, as a browser would.
// argv: command, port, then a value. Commands:
//   health PORT            GET /.well-known/oasis answers "oasis"
//   whoami PORT ID         GET /profile shows the feed id ID
//   name-is PORT NAME      the profile form holds the name NAME
//   set-name PORT NAME     POST /profile/edit (multipart: name, the current description, an
//                          empty image), as the form in the browser does
//   follows PORT PUBID     our feed follows PUBID (its page offers "unfollow")
//   accept-invite PORT PUBID  the invite code on stdin to POST /settings/invite/accept; Oasis
//                          may exit after it (systemd restarts it): wait, then check the follow
'use strict'
const http = require('http')
const [cmd, portText, value] = process.argv.slice(2)
const port = Number(portText)
const HOST = '127.0.0.1'

function request (method, path, { body = null, type = null, referer = null } = {}) {
  return new Promise((resolve, reject) => {
    const headers = {}
    if (type) headers['Content-Type'] = type
    if (body !== null) headers['Content-Length'] = Buffer.byteLength(body)
    if (referer) headers.Referer = `http://${HOST}:${port}${referer}`
    const req = http.request({ host: HOST, port, method, path, headers, timeout: 60000 }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    if (body !== null) req.write(body)
    req.end()
  })
}

function unescapeHtml (s) {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

async function currentProfile () {
  const r = await request('GET', '/profile/edit')
  if (r.status !== 200) throw new Error(`the profile form answered ${r.status}`)
  const name = /<input[^>]*name="name"[^>]*value="([^"]*)"/.exec(r.text) ||
    /<input[^>]*value="([^"]*)"[^>]*name="name"/.exec(r.text)
  const desc = /<textarea[^>]*name="description"[^>]*>([\s\S]*?)<\/textarea>/.exec(r.text)
  return { name: name ? unescapeHtml(name[1]) : '', description: desc ? unescapeHtml(desc[1]) : '' }
}

async function follows (pubId) {
  const feed = encodeURIComponent(pubId)
  const r = await request('GET', `/author/${feed}`)
  return r.status === 200 && r.text.includes(`action="/unfollow/${feed}"`)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function healthy () {
  try {
    const r = await request('GET', '/.well-known/oasis')
    return r.status === 200 && r.text === 'oasis'
  } catch (e) {
    return false
  }
}

function readStdin () {
  return new Promise((resolve) => {
    const chunks = []
    process.stdin.on('data', (c) => chunks.push(c))
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').trim()))
  })
}

async function main () {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('bad port')
  if (cmd === 'health') return await healthy()
  if (cmd === 'whoami') {
    const r = await request('GET', '/profile')
    return r.status === 200 && r.text.includes(value)
  }
  if (cmd === 'name-is') return (await currentProfile()).name === value
  if (cmd === 'set-name') {
    const { description } = await currentProfile()
    const boundary = '----roost' + Date.now().toString(16)
    const part = (field, text, file) => `--${boundary}\r\nContent-Disposition: form-data; name="${field}"` +
      (file ? '; filename=""\r\nContent-Type: application/octet-stream' : '') + `\r\n\r\n${text}\r\n`
    const body = part('image', '', true) + part('name', value) + part('description', description) +
      `--${boundary}--\r\n`
    const r = await request('POST', '/profile/edit', {
      body, type: `multipart/form-data; boundary=${boundary}`, referer: '/profile/edit'
    })
    if (r.status >= 400) throw new Error(`Oasis answered ${r.status}`)
    for (let i = 0; i < 30; i++) {
      if ((await currentProfile()).name === value) return true
      await sleep(1000)
    }
    throw new Error('the name did not appear on the profile')
  }
  if (cmd === 'follows') return await follows(value)
  if (cmd === 'accept-invite') {
    const invite = await readStdin()
    try {
      const r = await request('POST', '/settings/invite/accept', {
        body: 'invite=' + encodeURIComponent(invite),
        type: 'application/x-www-form-urlencoded',
        referer: '/settings'
      })
      if (r.status >= 400) throw new Error(`Oasis refused the invite (${r.status})`)
    } catch (e) {
      // Oasis may close the connection as it exits after the redemption: check the result.
      if (/refused the invite/.test(e.message)) throw e
    }
    await sleep(3000) // Oasis exits shortly after a redemption: look after it came back
    for (let i = 0; i < 180; i++) {
      if (await healthy() && await follows(value)) return true
      await sleep(2000)
    }
    throw new Error('the pub was not followed after the invite')
  }
  throw new Error(`unknown command ${cmd}`)
}

main().then((ok) => process.exit(ok ? 0 : 1), (err) => {
  console.error(`oasis: ${err.message}`)
  process.exit(2)
})
