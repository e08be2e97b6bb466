// Reference check for roost's SSB output, using npm ssb-keys and ssb-validate.
// Reads JSON from stdin: {"secret_file": PATH, "messages": [signed msg...]}
// Writes JSON: the id ssb-keys loads from the file, the ids ssb-validate gives the
// messages after appending them in order (it throws on any invalid one), whether
// ssb-keys verifyObj accepts each, and the same messages as ssb-validate creates them
// from the loaded keys (Ed25519 is deterministic, so they must be identical).
'use strict'
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')

let input = ''
process.stdin.on('data', (c) => { input += c })
process.stdin.on('end', () => {
  const req = JSON.parse(input)
  const out = {}
  let keys = null
  if (req.secret_file) {
    keys = ssbKeys.loadSync(req.secret_file)
    out.loaded_id = keys.id
    out.loaded_public = keys.public
  }
  const messages = req.messages || []
  out.verify = messages.map((m) => ssbKeys.verifyObj({ public: m.author.substring(1) }, null, m))
  out.ids = messages.map((m) => validate.id(m))
  try {
    let state = validate.initial()
    for (const m of messages) state = validate.append(state, null, m)
    out.appended = state.queue.map((kvt) => kvt.key)
    out.valid = true
  } catch (err) {
    out.valid = false
    out.error = String(err.message || err)
  }
  if (keys) {
    let feed = null
    out.created = messages.map((m) => {
      const msg = validate.create(feed, keys, null, m.content, m.timestamp)
      feed = { id: validate.id(msg), sequence: msg.sequence, timestamp: msg.timestamp, queue: [] }
      return msg
    })
  }
  process.stdout.write(JSON.stringify(out))
})
