// Starts dynalite as its own cli.js does, with one difference: a client that goes away before
// its answer (killed, or given up after its timeout) is dropped. dynalite 4.0.0 rethrows the
// request's 'aborted' error (index.js, httpHandler: `req.on('error', ... throw err)`), which
// ends the whole server: one impatient client took the table away from every other.
// Usage: node serve.js '{"host": "127.0.0.1", "port": 4567, "path": "...", ...}' (dynalite's
// own options, plus host and port).
'use strict'

const dynalite = require('dynalite')

const options = JSON.parse(process.argv[2] || '{}')
const server = dynalite(options)
const [handle] = server.listeners('request')

server.removeAllListeners('request')
server.on('request', (req, res) => {
  const on = req.on
  req.on = function (event, listener) {
    if (event !== 'error') return on.call(this, event, listener)
    return on.call(this, event, () => res.destroy())
  }
  handle(req, res)
})

server.listen(options.port || 4567, options.host, () => {
  const { port } = server.address()
  console.log('Dynalite listening at: http://%s:%s', options.host || 'localhost', port)
})
