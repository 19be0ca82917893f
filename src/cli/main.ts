#!/usr/bin/env node
// Process entry of the `usersig` CLI: wires runCli to argv, stdio, the environment, the clock and files.
import { text } from 'node:stream/consumers'
// The service's reader of secret files: a regular file of at most 1 MiB, or an error with a code
// (so --key-file /dev/zero is refused, not read forever).
import { readConfigFile } from '../config/sources.js'
import { runCli } from './run.js'

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdin: () => text(process.stdin),
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    now: () => Math.floor(Date.now() / 1000),
    readFile: readConfigFile,
  })
} catch (error) {
  // A bug, not a usage error: say so in one line (no stack; nothing here holds the key).
  process.stderr.write(`usersig: internal error: ${(error as Error).message}\n`)
  process.exitCode = 70 // EX_SOFTWARE
}
