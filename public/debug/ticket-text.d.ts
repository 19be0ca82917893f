// Types of ticket-text.js, for the usersig CLI (src/cli/run.ts), which shares it with the debug page.

/** Tencent's base64 alphabet, as messages name it. */
export declare const ALPHABET_TEXT: string

/**
 * The first character of `text` outside Tencent's base64 alphabet, said where it is and how it
 * usually gets there (`a line break at position 61 of 300. A copy may have wrapped it ...`); null
 * when every character is in the alphabet.
 */
export declare function strayCharacter(text: string): string | null
