#!/usr/bin/env node
// The client program of mqttspec's mqttjs driver: performs one client conformance action with
// the mqtt npm package (MQTT.js), as an application using the library would.
//
// Flags (all --name=value) mirror conformance.Action; byte strings are hex so
// that any byte reaches the library (topics and other strings are decoded as WTF-8: a UTF-8
// encoded surrogate becomes a lone surrogate in the JavaScript string, which is how an
// application would hold such a string). One line per event on stdout ("connected", "received
// TOPIC PAYLOAD", "error ..."); exit status 0 when the action completed.
'use strict'

const mqtt = require('mqtt')

// Every line of output starts with the milliseconds since the program started.
const started = Date.now()
const log = console.log
console.log = (...args) => log(String(Date.now() - started).padStart(6), ...args)

const users = [] // User Properties of each PUBLISH
const willUsers = [] // User Properties of the Will
const unsubscribe = [] // filters to unsubscribe from after the messages

function parse (argv) {
  const a = {}
  for (const arg of argv) {
    const m = /^--([a-z0-9-]+)=(.*)$/s.exec(arg)
    if (!m) throw new Error('bad argument ' + JSON.stringify(arg) + ' (want --name=value)')
    if (m[1] === 'user-hex' || m[1] === 'will-user-hex') {
      const [k, v] = m[2].split(':')
      ;(m[1] === 'user-hex' ? users : willUsers).push([str(k), str(v)])
      continue
    }
    if (m[1] === 'unsubscribe-hex') {
      unsubscribe.push(str(m[2]))
      continue
    }
    a[m[1]] = m[2]
  }
  return a
}

// messageProps are the 5.0 properties of a PUBLISH (prefix '') or of the Will (prefix 'will-'),
// as MQTT.js names them.
function messageProps (a, prefix, userProps) {
  const p = {}
  if (prefix === 'will-' && a['will-delay'] !== undefined) p.willDelayInterval = num(a['will-delay'], 0)
  if (a[prefix + 'message-expiry'] !== undefined) p.messageExpiryInterval = num(a[prefix + 'message-expiry'], 0)
  if (a[prefix + 'content-type-hex'] !== undefined) p.contentType = str(a[prefix + 'content-type-hex'])
  if (a[prefix + 'response-topic-hex'] !== undefined) p.responseTopic = str(a[prefix + 'response-topic-hex'])
  if (a[prefix + 'correlation-hex'] !== undefined) p.correlationData = hex(a[prefix + 'correlation-hex'])
  if (userProps.length > 0) {
    p.userProperties = {}
    for (const [k, v] of userProps) p.userProperties[k] = v
  }
  return p
}

// wtf8 decodes bytes as UTF-8, keeping UTF-8 encoded surrogates as lone surrogates.
function wtf8 (buf) {
  let out = ''
  let i = 0
  while (i < buf.length) {
    const b = buf[i]
    if (b === 0xed && i + 2 < buf.length && buf[i + 1] >= 0xa0 && buf[i + 1] <= 0xbf) {
      out += String.fromCharCode(0xd000 | ((buf[i + 1] & 0x3f) << 6) | (buf[i + 2] & 0x3f))
      i += 3
      continue
    }
    let j = i + 1
    while (j < buf.length && !(buf[j] === 0xed && j + 2 < buf.length && buf[j + 1] >= 0xa0 && buf[j + 1] <= 0xbf)) j++
    out += buf.subarray(i, j).toString('utf8')
    i = j
  }
  return out
}

const hex = (s) => Buffer.from(s || '', 'hex')
const str = (s) => wtf8(hex(s))
const num = (s, d) => (s === undefined || s === '' ? d : Number(s))
const bool = (s) => s === 'true' || s === '1'

function main () {
  let a
  try {
    let argv = process.argv.slice(2)
    if (argv.length === 1 && argv[0] === '--args-stdin') {
      // The driver writes the flags, NUL-separated, to standard input (a 64 KiB topic in hex is
      // longer than one command-line argument may be).
      argv = require('fs').readFileSync(0, 'utf8').split('\0')
    }
    a = parse(argv)
  } catch (e) {
    console.error('mqttjs client:', e.message)
    process.exit(2)
  }
  const v5 = a.version === '5'
  const reconnect = bool(a.reconnect)
  const count = Math.max(num(a.count, 1), 1)
  const opts = {
    host: a.host || '127.0.0.1',
    port: num(a.port, 1883),
    protocol: 'mqtt',
    protocolVersion: v5 ? 5 : 4,
    clientId: a['id'] === undefined ? undefined : a['id'],
    clean: bool(a.clean),
    keepalive: num(a.keepalive, 60),
    reconnectPeriod: reconnect ? 200 : 0,
    connectTimeout: 5000,
    resubscribe: false
  }
  if (a['username-hex']) opts.username = str(a['username-hex'])
  if (a['password-hex'] !== undefined) opts.password = hex(a['password-hex'])
  if (a['will-topic-hex'] !== undefined) {
    opts.will = { topic: str(a['will-topic-hex']), payload: hex(a['will-payload-hex']), qos: num(a['will-qos'], 0), retain: bool(a['will-retain']) }
    if (v5) {
      const wp = messageProps(a, 'will-', willUsers)
      if (Object.keys(wp).length > 0) opts.will.properties = wp
    }
  }
  if (v5) {
    const p = {}
    if (num(a['session-expiry'], 0) > 0) p.sessionExpiryInterval = num(a['session-expiry'], 0)
    if (num(a['receive-max'], 0) > 0) p.receiveMaximum = num(a['receive-max'], 0)
    if (num(a['topic-alias-max'], 0) > 0) p.topicAliasMaximum = num(a['topic-alias-max'], 0)
    if (num(a['max-packet-size'], 0) > 0) p.maximumPacketSize = num(a['max-packet-size'], 0)
    if (a['auth-method']) {
      p.authenticationMethod = a['auth-method']
      if (a['auth-data-hex'] !== undefined) p.authenticationData = hex(a['auth-data-hex'])
    }
    if (Object.keys(p).length > 0) opts.properties = p
  }
  let client
  try {
    client = mqtt.connect(opts)
  } catch (e) {
    // mqtt.connect throws for options it refuses ("Missing clientId for unclean clients"):
    // the library's refusal of the action, reported like any error it returns.
    console.log('error', e.message || String(e))
    process.exit(1)
  }
  if (a['auth-method']) {
    // Answer every challenge with its own data (AUTH 0x18).
    client.handleAuth = (packet, cb) => {
      const data = packet.properties && packet.properties.authenticationData
      cb(null, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: a['auth-method'], authenticationData: data } })
    }
  }
  const topic = str(a['topic-hex'])
  const qos = num(a.qos, 0)
  let connected = false
  let finished = false
  let failure = null

  const finish = (err) => {
    if (finished) return
    finished = true
    if (err) {
      failure = err
      console.log('error', err.message || String(err))
    }
    const done = () => process.exit(failure ? 1 : 0)
    if (client.connected) {
      client.end(false, {}, done)
    } else {
      client.end(true, {}, done)
    }
    setTimeout(done, 3000).unref()
  }

  // Errors are only logged: closing the connection on a protocol error is the library's job,
  // and a DISCONNECT sent by this program would be mistaken for the library's reaction. The
  // program ends when the connection closes (without reconnection) or the action completes.
  client.on('error', (err) => {
    console.log('error event', err.message)
  })
  client.on('close', () => {
    console.log('closed')
    if (!reconnect && !finished) finish(new Error('connection closed'))
  })
  client.on('message', (t, payload) => {
    console.log('received', JSON.stringify(t), JSON.stringify(payload.toString('latin1')))
    received++
    if (a.op === 'subscribe' && received === count) afterMessages()
  })
  let received = 0
  const afterMessages = () => {
    if (unsubscribe.length > 0) {
      client.unsubscribe(unsubscribe, (err) => finish(err))
    } else {
      finish()
    }
  }
  client.on('connect', (connack) => {
    console.log('connected session_present=' + !!connack.sessionPresent)
    if (connected) return // a reconnection: the session carries on
    connected = true
    switch (a.op) {
      case 'connect':
        setTimeout(() => finish(), num(a['duration-ms'], 0))
        break
      case 'publish': {
        let pending = count
        let firstErr = null
        const message = hex(a['message-hex'])
        const popts = { qos, retain: bool(a.retain) }
        if (v5) {
          const p = messageProps(a, '', users)
          if (Object.keys(p).length > 0) popts.properties = p
        }
        for (let i = 0; i < count; i++) {
          client.publish(topic, message, popts, (err) => {
            if (err && !firstErr) firstErr = err
            if (--pending === 0) finish(firstErr)
          })
        }
        break
      }
      case 'subscribe':
        client.subscribe(topic, { qos }, (err) => {
          if (err) finish(err)
        })
        break
      default:
        finish(new Error('unknown op ' + a.op))
    }
  })
  const stop = () => finish(new Error('stopped'))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main()
