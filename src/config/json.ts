// The apps and clients documents are strict JSON, read so that an operator can find a mistake:
// a syntax error gives its line and column, and a key given twice in one object is refused (plain
// JSON.parse keeps the last one silently). JSON.parse's own message quotes the input, which holds
// secrets, so it is never passed on.
import { printParseErrorCode, visit, type ParseErrorCode } from 'jsonc-parser'
import { shown, type Findings } from './findings.js'
import type { Source } from './sources.js'

const SYNTAX: Partial<Record<ReturnType<typeof printParseErrorCode>, string>> = {
  InvalidSymbol: 'an unexpected character',
  InvalidNumberFormat: 'a malformed number',
  PropertyNameExpected: 'a property name in double quotes was expected (a trailing comma?)',
  ValueExpected: 'a value was expected (a trailing comma?)',
  ColonExpected: 'a ":" was expected',
  CommaExpected: 'a "," was expected',
  CloseBraceExpected: 'a "}" was expected',
  CloseBracketExpected: 'a "]" was expected',
  EndOfFileExpected: 'more after the end of the JSON value',
  InvalidCommentToken: 'a comment, which JSON does not allow',
  UnexpectedEndOfComment: 'a comment, which JSON does not allow',
  UnexpectedEndOfString: 'a string that does not end on its line',
  UnexpectedEndOfNumber: 'a number that ends early',
  InvalidUnicode: 'a malformed \\u escape',
  InvalidEscapeCharacter: 'an invalid escape (a backslash) in a string',
  InvalidCharacter: 'a control character (a tab or a line break) in a string',
}

/** The document's value, or null when it is not strict JSON or repeats a key (problems recorded). */
export function parseDocument(source: Source, findings: Findings): unknown {
  // RFC 8259 lets a parser ignore a byte order mark; some editors write one.
  const text = source.text.replace(/^\uFEFF/, '')
  const at = (line: number, column: number) => `line ${line + 1}, column ${column + 1}`
  let syntax: string | undefined
  const duplicates: string[] = []
  const seen: Set<string>[] = []
  visit(
    text,
    {
      onError(error: ParseErrorCode, _offset, _length, line, column) {
        // The first error is the one to fix; the rest follow from it.
        syntax ??= `${at(line, column)}: ${SYNTAX[printParseErrorCode(error)] ?? 'not JSON'}`
      },
      onObjectBegin: () => void seen.push(new Set()),
      onObjectEnd: () => void seen.pop(),
      onObjectProperty(name, _offset, _length, line, column) {
        const keys = seen.at(-1)
        if (keys?.has(name))
          duplicates.push(`${at(line, column)}: ${shown(name)} is given twice in one object`)
        keys?.add(name)
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  )
  let value: unknown
  let parsed = true
  try {
    value = JSON.parse(text)
  } catch {
    parsed = false
  }
  if (!parsed || syntax !== undefined) {
    // Either parser refusing is enough. The place is jsonc-parser's: JSON.parse's message would
    // quote the input.
    findings.problem(
      `${source.variable}: not valid JSON${syntax === undefined ? '' : `: ${syntax}`}`,
    )
    return null
  }
  for (const duplicate of duplicates) findings.problem(`${source.variable}: ${duplicate}`)
  return duplicates.length > 0 ? null : value
}
