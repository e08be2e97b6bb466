// Written by roost (ssb-pub). Make sure this pub's own feed names it. argv: mode ("check" | "publish"), the vault's
// signed about message (JSON), the profile name. "publish" adds the vault's message when the
// feed is empty (it is message 1), else publishes a new about with the name.
const fs = require('fs')
const path = require('path')
const [mode, signedText, name] = process.argv.slice(2)
const signed = JSON.parse(signedText)
const config = require('ssb-config/inject')(process.env.ssb_appname)
const manifest = JSON.parse(fs.readFileSync(path.join(config.path, 'manifest.json')))
const pull = require('pull-stream')
require('ssb-client')(config.keys, {
  manifest, port: config.port, host: config.host || 'localhost', caps: config.caps,
  key: config.key || config.keys.id
}, (err, sbot) => {
  if (err) { console.error('cannot reach ssb-server: ' + err.message); process.exit(2) }
  const me = config.keys.id
  pull(sbot.createUserStream({ id: me }), pull.collect((err, msgs) => {
    if (err) { console.error(err.message); process.exit(2) }
    const named = msgs.some(m => m.value.content && m.value.content.type === 'about' &&
      m.value.content.about === me && m.value.content.name === name)
    if (mode === 'check' || named) { sbot.close(() => process.exit(named ? 0 : 1)); return }
    const done = (err) => {
      if (err) { console.error(err.message); process.exit(1) }
      sbot.close(() => process.exit(0))
    }
    if (msgs.length === 0 && signed.author === me && signed.content.name === name) sbot.add(signed, done)
    else sbot.publish({ type: 'about', about: me, name: name }, done)
  }))
})
