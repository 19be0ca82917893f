// The ticket debugger's page logic: decode what is pasted, verify it, issue test tickets, copy.
// Everything shown is built from text nodes, never from HTML, so nothing pasted can run here.
import { post } from '/debug/api.js'
import { decodeTicket, TicketDecodeError } from '/debug/decode.js'
import { expiryText, isoOrNull, issuedText, lifetime, nowSeconds, utc } from '/debug/time.js'

const $ = (id) => document.getElementById(id)

/** A DOM element with properties and children (strings become text nodes). */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (name.startsWith('data-') || name.startsWith('aria-')) element.setAttribute(name, value)
    else element[name] = value
  }
  element.append(...children.filter((child) => child !== null))
  return element
}

/** Fills a panel with a definition list of [name, value] rows (values: text or elements). */
function showRows(panel, rows, className) {
  panel.replaceChildren(
    h('dl', {}, ...rows.flatMap(([name, ...value]) => [h('dt', {}, name), h('dd', {}, ...value)])),
  )
  showPanel(panel, className)
}

function showPanel(panel, className) {
  panel.className = `panel ${className}`
  panel.hidden = false
}

function hidePanel(panel) {
  panel.hidden = true
  panel.replaceChildren()
}

/** An absolute time, with a live relative one that `tick` keeps current. */
function timeWithCountdown(seconds, kind) {
  const iso = isoOrNull(seconds)
  return [
    iso === null ? utc(seconds) : h('time', { dateTime: iso }, utc(seconds)),
    h('br'),
    h('span', { className: 'countdown', 'data-at': seconds, 'data-kind': kind }),
  ]
}

// Once a second, on the second, every countdown on the page is brought up to date.
function tick() {
  const now = nowSeconds()
  for (const span of document.querySelectorAll('.countdown')) {
    const at = Number(span.dataset.at)
    if (span.dataset.kind === 'issued') {
      const { text, future } = issuedText(at, now)
      span.textContent = text
      span.classList.toggle('warning', future)
    } else {
      const { text, expired } = expiryText(at, now)
      span.textContent = text
      span.classList.toggle('expired', expired)
    }
  }
  const expired = $('decoded').querySelector('.countdown.expired') !== null
  $('decoded').classList.toggle('has-expired', expired)
}
function tickEverySecond() {
  tick()
  setTimeout(tickEverySecond, 1000 - (Date.now() % 1000))
}

// ---- the caller token: held in this module's memory only, never stored or put in the URL

let token = ''
$('token').addEventListener('input', (event) => {
  token = event.target.value.trim()
  clearVerdict()
  clearIssued()
})
$('token-show').addEventListener('click', () => {
  const show = $('token').type === 'password'
  $('token').type = show ? 'text' : 'password'
  $('token-show').textContent = show ? 'Hide' : 'Show'
  $('token-show').setAttribute('aria-pressed', String(show))
})

// ---- the ticket: decoded on every change; the verify fields follow each new ticket

let shownTicket = ''

function onTicketChange() {
  clearVerdict()
  const ticket = $('ticket').value.trim()
  $('copy-ticket').disabled = ticket === ''
  if (ticket === shownTicket) return
  shownTicket = ticket
  hidePanel($('decoded'))
  hidePanel($('decode-error'))
  if (ticket === '') return announce('')
  let decoded
  try {
    decoded = decodeTicket(ticket)
  } catch (error) {
    if (!(error instanceof TicketDecodeError)) throw error
    return showDecodeError(error)
  }
  showDecoded(decoded)
  // The verify and issue forms follow each new ticket: check it, or issue its like.
  for (const form of ['verify', 'issue']) {
    $(`${form}-sdkappid`).value = String(decoded.sdkAppId)
    $(`${form}-userid`).value = decoded.userId
  }
  $('verify-kind').value =
    decoded.userBuf === null ? 'usersig' : decoded.privateMapKey ? 'privatemapkey' : 'any'
  announce(`Decoded a ${kindOf(decoded)} for UserID ${decoded.userId}.`)
}
$('ticket').addEventListener('input', onTicketChange)

const kindOf = (t) =>
  t.userBuf === null ? 'UserSig' : t.privateMapKey ? 'PrivateMapKey' : 'ticket with a userbuf'

function showDecoded(t) {
  const rows = [
    ['Kind', kindOf(t)],
    ['SDKAppID', String(t.sdkAppId)],
    ['UserID', h('span', { className: 'id' }, t.userId === '' ? '(empty)' : t.userId)],
    ['Issued', ...timeWithCountdown(t.issuedAt, 'issued')],
    [
      'Lifetime',
      `${t.expire} s (${lifetime(t.expire)})`,
      t.expire === 0 ? ': it expires the second it is issued' : '',
    ],
    ['Expires', ...timeWithCountdown(t.expiresAt, 'expiry')],
  ]
  const p = t.privateMapKey
  if (p) {
    rows.push(
      [
        'Room',
        p.strRoomId === null
          ? h('span', { className: 'id' }, String(p.roomId))
          : h('span', { className: 'id' }, `"${p.strRoomId}"`),
        p.strRoomId === null ? ' (number)' : ' (string)',
      ],
      [
        'Privileges',
        `${p.privilegeNames.length === 0 ? 'none' : p.privilegeNames.join(', ')} (bit map ${p.privileges})`,
      ],
      ['Room access expires', ...timeWithCountdown(p.expiresAt, 'expiry')],
    )
    if (p.userId !== t.userId || p.sdkAppId !== t.sdkAppId) {
      rows.push([
        'Warning',
        `The room permission names UserID ${p.userId} and SDKAppID ${p.sdkAppId}, not the ticket's: it will be refused.`,
      ])
    }
  } else if (t.userBuf !== null) {
    rows.push(['Userbuf', 'present, but not a PrivateMapKey room permission'])
  }
  showRows($('decoded'), rows, '')
  tick()
}

function showDecodeError(error) {
  $('decode-error').replaceChildren(
    h('p', {}, h('strong', {}, error.headline), ` ${error.message}`),
    h(
      'p',
      {},
      `A client logging in with it would be told ${error.tencentErrorCode}. ` +
        (error.code === 'ticket_version_unsupported'
          ? "Issue a TLSSigAPIv2 ticket with the app's HMAC secret key."
          : 'Pass the ticket byte for byte, as it was issued: nothing cut, re-encoded or wrapped.'),
    ),
  )
  showPanel($('decode-error'), 'error')
  announce(error.headline)
}

/** Says something to screen readers without moving focus. */
function announce(text) {
  $('status').textContent = text
}

$('clear-ticket').addEventListener('click', () => {
  $('ticket').value = ''
  onTicketChange()
  $('ticket').focus()
})

// ---- copying tickets

async function copy(text, button) {
  let copied
  try {
    await navigator.clipboard.writeText(text)
    copied = true
  } catch {
    // The Clipboard API needs a secure context (https or localhost): fall back to a selection.
    const scratch = h('textarea', { value: text, readOnly: true, className: 'visually-hidden' })
    document.body.append(scratch)
    scratch.select()
    copied = document.execCommand('copy')
    scratch.remove()
    button.focus()
  }
  button.dataset.label ??= button.textContent
  button.textContent = copied ? 'Copied' : 'Copy failed'
  announce(
    copied
      ? 'Ticket copied to the clipboard.'
      : 'This browser refused to copy: select the ticket and copy it yourself.',
  )
  setTimeout(() => (button.textContent = button.dataset.label), 2000)
}
$('copy-ticket').addEventListener('click', (event) => copy($('ticket').value.trim(), event.target))

// ---- verify: a verdict stands only for the inputs it was given

let verdictEpoch = 0

function clearVerdict() {
  verdictEpoch++
  hidePanel($('verdict'))
}
for (const id of ['verify-sdkappid', 'verify-userid', 'verify-kind']) {
  $(id).addEventListener('input', clearVerdict)
}

$('verify-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  clearVerdict()
  const epoch = verdictEpoch
  const sdkAppId = Number($('verify-sdkappid').value)
  const result = await busy($('verify'), () =>
    post(
      '/usersig/verify',
      token,
      {
        sdkAppId,
        userId: $('verify-userid').value,
        userSig: $('ticket').value.trim(),
        kind: $('verify-kind').value,
      },
      {
        name: 'verifying',
        scope: 'usersig:verify',
        sdkAppId,
        debugOnly: true,
      },
    ),
  )
  if (epoch !== verdictEpoch) return // something changed while it was asked: the answer is stale
  if (!result.ok) return showRefusal($('verdict'), result.lines)
  const v = result.body
  showRows(
    $('verdict'),
    v.valid
      ? [
          ['Verdict', h('strong', {}, 'Valid'), ': Tencent would accept it.'],
          ['Signed by key', v.keyId],
        ]
      : [
          ['Verdict', h('strong', {}, 'Invalid')],
          ['Tencent error', v.tencentErrorCode === null ? 'none' : String(v.tencentErrorCode)],
          ['Why', v.message],
          ['What to do', v.hint],
          ['Code', h('code', {}, v.code)],
        ],
    v.valid ? 'valid' : 'invalid',
  )
  announce(
    v.valid
      ? 'Valid: Tencent would accept it.'
      : `Invalid: ${v.message} Tencent error ${v.tencentErrorCode ?? 'none'}.`,
  )
})

/** What went wrong (in bold), then what to do about it. */
function showRefusal(panel, [what, ...todo]) {
  panel.replaceChildren(h('p', {}, h('strong', {}, what)), ...todo.map((line) => h('p', {}, line)))
  announce(what)
  showPanel(panel, 'invalid')
}

/** Runs a request with its button disabled, so it is not sent twice. */
async function busy(button, request) {
  button.disabled = true
  button.setAttribute('aria-busy', 'true')
  try {
    return await request()
  } finally {
    button.disabled = false
    button.removeAttribute('aria-busy')
  }
}

// ---- issue: a UserSig or a PrivateMapKey, which then lands in the ticket box

const issueKind = () => document.querySelector('input[name="issue-kind"]:checked').value

function clearIssued() {
  hidePanel($('issued'))
}

function onIssueKindChange() {
  const pmk = issueKind() === 'privatemapkey'
  $('room-fields').hidden = !pmk
  $('room-fields').disabled = !pmk
  $('issue').textContent = pmk ? 'Issue PrivateMapKey' : 'Issue UserSig'
}

function onRoomTypeChange() {
  const numeric = $('issue-room-type').value === 'roomId'
  const room = $('issue-room')
  room.inputMode = numeric ? 'numeric' : 'text'
  if (numeric) room.pattern = '[1-9][0-9]{0,9}'
  else room.removeAttribute('pattern')
}

$('issue-form').addEventListener('input', clearIssued)
$('issue-form').addEventListener('change', (event) => {
  if (event.target.name === 'issue-kind') onIssueKindChange()
  if (event.target.id === 'issue-room-type') onRoomTypeChange()
})

$('issue-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  clearIssued()
  const pmk = issueKind() === 'privatemapkey'
  const sdkAppId = Number($('issue-sdkappid').value)
  const expire = $('issue-expire').value.trim()
  const body = {
    sdkAppId,
    userId: $('issue-userid').value,
    ...(expire === '' ? {} : { expire: Number(expire) }),
  }
  if (pmk) {
    const room = $('issue-room').value
    body[$('issue-room-type').value] = $('issue-room-type').value === 'roomId' ? Number(room) : room
    body.privileges = [...document.querySelectorAll('input[name="privilege"]:checked')].map(
      (box) => box.value,
    )
  }
  const result = await busy($('issue'), () =>
    post(pmk ? '/privatemapkey' : '/usersig', token, body, {
      name: pmk ? 'issuing a PrivateMapKey' : 'issuing a UserSig',
      scope: pmk ? 'privatemapkey:issue' : 'usersig:issue',
      sdkAppId,
    }),
  )
  if (!result.ok) return showRefusal($('issued'), result.lines)
  showIssued(result.body, pmk)
})

function showIssued(r, pmk) {
  const ticket = pmk ? r.privateMapKey : r.userSig
  const copyButton = h('button', { type: 'button', className: 'copy' }, 'Copy ticket')
  copyButton.addEventListener('click', () => copy(ticket, copyButton))
  const rows = [
    [
      'Issued',
      `${pmk ? 'PrivateMapKey' : 'UserSig'} for UserID `,
      h('span', { className: 'id' }, r.userId),
    ],
    ['Signed by key', r.keyId],
    [pmk ? 'Room access expires' : 'Expires', ...timeWithCountdown(r.expiresAt, 'expiry')],
  ]
  if (pmk) {
    rows.push(
      [
        'Room',
        h('span', { className: 'id' }, r.roomId === null ? `"${r.strRoomId}"` : String(r.roomId)),
      ],
      ['Privileges', `${r.privilegeNames.join(', ') || 'none'} (bit map ${r.privileges})`],
    )
  }
  rows.push(['Ticket', h('code', { className: 'ticket' }, ticket), copyButton])
  showRows($('issued'), rows, 'valid')
  $('ticket').value = ticket
  onTicketChange()
  announce(
    `Issued a ${pmk ? 'PrivateMapKey' : 'UserSig'} for UserID ${r.userId}: it is in the ticket box, decoded.`,
  )
}

onIssueKindChange()
onRoomTypeChange()
onTicketChange()
tickEverySecond()
