// What is wrong with the text of a pasted ticket, in words: the first character outside Tencent's
// base64 alphabet, where it is, and how it usually gets there (a copy wrapped over lines, standard
// base64, URL-encoding). Plain text in, plain text out, no imports: the debug page
// (decode.js) and the usersig CLI's `decode` (src/cli/run.ts) both say it with this module.

/** Tencent's base64 alphabet, as messages name it. */
export const ALPHABET_TEXT = "Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding)"

const ALPHABET = /[A-Za-z0-9*-]/
const NAMES = { ' ': 'a space', '\n': 'a line break', '\r': 'a line break', '\t': 'a tab' }

/**
 * The first character of `text` outside Tencent's base64 alphabet (`_` padding is allowed as the
 * last one or two), said where it is and, when it is a usual mistake, how it got there; null
 * when every character is in the alphabet.
 */
export function strayCharacter(text) {
  let end = text.length
  while (end > 0 && text[end - 1] === '_' && text.length - end < 2) end--
  for (let at = 0; at < end; at++) {
    if (!ALPHABET.test(text[at])) return described(text, at)
  }
  return null
}

function described(text, at) {
  const char = String.fromCodePoint(text.codePointAt(at))
  const where = `${NAMES[char] ?? `"${char}"`} at position ${at + 1} of ${text.length}`
  let why = ''
  if (/\s/.test(char)) why = ' A copy may have wrapped it over lines or added spaces.'
  else if (char === '%') why = ' It looks URL-encoded (%2A is *, %2D is -): pass the raw ticket.'
  else if ('+/='.includes(char)) {
    why = " It looks like standard base64; Tencent's variant writes + / = as * - _."
  } else if (char === '_') why = ' The _ padding may only end a ticket.'
  return `${where}.${why}`
}
