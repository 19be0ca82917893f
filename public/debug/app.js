// The ticket debugger: decodes tickets in the browser (pako), verifies and issues through the API.
import { inflate } from '/debug/pako.mjs'

const PRIVILEGES = [
  'createRoom',
  'enterRoom',
  'sendAudio',
  'receiveAudio',
  'sendVideo',
  'receiveVideo',
  'sendSubStream',
  'receiveSubStream',
]
const MAX_TICKET_LENGTH = 4096
const $ = (id) => document.getElementById(id)

// Held in this module's memory only: never stored, never put in the URL.
let token = ''
$('token').addEventListener('input', (event) => (token = event.target.value.trim()))

/** Tencent's base64 variant (* - _ for + / =) -> bytes. */
function tencentBase64(text) {
  if (!/^[A-Za-z0-9*-]+_{0,2}$/.test(text))
    throw new Error("characters outside Tencent's base64 alphabet")
  const standard = text.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=')
  return Uint8Array.from(atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, '=')), (c) =>
    c.charCodeAt(0),
  )
}

/** The PrivateMapKey userbuf layout, or null when the userbuf is something else. */
function privateMapKey(userBuf) {
  const bytes = Uint8Array.from(atob(userBuf), (c) => c.charCodeAt(0))
  const view = new DataView(bytes.buffer)
  if (bytes.length < 3) return null
  const version = view.getUint8(0)
  const accountLength = view.getUint16(1)
  const at = 3 + accountLength
  if ((version !== 0 && version !== 1) || bytes.length < at + 20) return null
  const privileges = view.getUint32(at + 12)
  const decoder = new TextDecoder()
  let strRoomId = null
  if (version === 1) {
    const roomLength = view.getUint16(at + 20)
    strRoomId = decoder.decode(bytes.subarray(at + 22, at + 22 + roomLength))
  }
  return {
    userId: decoder.decode(bytes.subarray(3, at)),
    sdkAppId: view.getUint32(at),
    roomId: version === 0 ? view.getUint32(at + 4) : null,
    strRoomId,
    expiresAt: view.getUint32(at + 8),
    privileges,
    privilegeNames: PRIVILEGES.filter((_, bit) => privileges & (1 << bit)),
  }
}

function decode(ticket) {
  if (ticket.length > MAX_TICKET_LENGTH)
    throw new Error(`longer than ${MAX_TICKET_LENGTH} characters`)
  // The length cap bounds the work: 4096 characters inflate to at most ~3 MB, in this tab only.
  const json = new TextDecoder('utf-8', { fatal: true }).decode(inflate(tencentBase64(ticket)))
  const doc = JSON.parse(json)
  if (doc['TLS.ver'] !== '2.0') throw new Error('not a TLSSigAPIv2 ("TLS.ver": "2.0") ticket')
  const issuedAt = doc['TLS.time']
  const expire = doc['TLS.expire'] ?? 0
  return {
    sdkAppId: doc['TLS.sdkappid'],
    userId: doc['TLS.identifier'] ?? '',
    issuedAt,
    expire,
    expiresAt: issuedAt + expire,
    privateMapKey:
      typeof doc['TLS.userbuf'] === 'string' ? privateMapKey(doc['TLS.userbuf']) : null,
  }
}

const when = (seconds) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
function countdown(expiresAt) {
  const left = expiresAt - Math.floor(Date.now() / 1000)
  if (left < 0) return `expired ${Math.round(-left / 3600)} h ago`
  return `${Math.floor(left / 86400)} d ${Math.floor((left % 86400) / 3600)} h left`
}

/** Renders name/value pairs as a definition list, with text nodes only (no HTML from input). */
function show(panel, pairs, className = '') {
  const list = document.createElement('dl')
  for (const [name, value] of pairs) {
    const dt = document.createElement('dt')
    dt.textContent = name
    const dd = document.createElement('dd')
    dd.textContent = String(value)
    list.append(dt, dd)
  }
  panel.replaceChildren(list)
  panel.className = `panel ${className}`
  panel.hidden = false
}

function render() {
  const ticket = $('ticket').value.trim()
  $('decoded').hidden = true
  $('decode-error').hidden = true
  if (ticket === '') return
  try {
    const t = decode(ticket)
    const pairs = [
      ['SDKAppID', t.sdkAppId],
      ['UserID', t.userId],
      ['Issued', when(t.issuedAt)],
      ['Expires', `${when(t.expiresAt)} (${countdown(t.expiresAt)})`],
    ]
    if (t.privateMapKey) {
      const p = t.privateMapKey
      pairs.push(
        ['Room', p.roomId ?? `"${p.strRoomId}"`],
        ['Room permission expires', `${when(p.expiresAt)} (${countdown(p.expiresAt)})`],
        ['Privileges', `${p.privileges}: ${p.privilegeNames.join(', ') || 'none'}`],
      )
    }
    show($('decoded'), pairs)
    $('sdkappid').value ||= String(t.sdkAppId)
    $('userid').value ||= t.userId
    $('kind').value = t.privateMapKey ? 'privatemapkey' : 'usersig'
  } catch (error) {
    $('decode-error').textContent = `Cannot decode: ${error.message}. Tencent would answer 70003.`
    $('decode-error').hidden = false
  }
}
$('ticket').addEventListener('input', render)

async function call(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

$('verify').addEventListener('click', async () => {
  const { status, body } = await call('/usersig/verify', {
    sdkAppId: Number($('sdkappid').value),
    userId: $('userid').value,
    userSig: $('ticket').value.trim(),
    kind: $('kind').value,
  })
  if (status !== 200)
    return show(
      $('verdict'),
      [['Error', `${status} ${body.code}: ${body.detail ?? body.title}`]],
      'invalid',
    )
  show(
    $('verdict'),
    body.valid
      ? [
          ['Verdict', 'valid'],
          ['Signed by key', body.keyId],
        ]
      : [
          ['Verdict', 'invalid'],
          ['Code', body.code],
          ['Tencent error', body.tencentErrorCode ?? 'none: Tencent would accept it'],
          ['Why', body.message],
          ['What to do', body.hint],
        ],
    body.valid ? 'valid' : 'invalid',
  )
})

$('issue').addEventListener('click', async () => {
  const expire = $('expire').value.trim()
  const { status, body } = await call('/usersig', {
    sdkAppId: Number($('sdkappid').value),
    userId: $('userid').value,
    ...(expire === '' ? {} : { expire: Number(expire) }),
  })
  if (status !== 200)
    return show(
      $('issued'),
      [['Error', `${status} ${body.code}: ${body.detail ?? body.title}`]],
      'invalid',
    )
  show(
    $('issued'),
    [['Issued', `${body.userId}, key ${body.keyId}, expires ${when(body.expiresAt)}`]],
    'valid',
  )
  $('ticket').value = body.userSig
  render()
})
