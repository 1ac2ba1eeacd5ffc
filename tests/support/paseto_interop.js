#!/usr/bin/env node
// The independent PASETO implementation (npm `paseto` v3) on the other side
// of vigil's interoperability tests. NODE_PATH must reach its node_modules
// (scripts/install-node-deps.sh prints the directory).
//
//   paseto_interop.js sign   PRIVATE.pem CLAIMS_JSON         -> prints a v4.public token
//   paseto_interop.js verify PUBLIC.pem TOKEN [AUDIENCE]     -> prints the claims; exit 1 if invalid
'use strict'
const fs = require('fs')
const crypto = require('crypto')
const { V4 } = require('paseto')

async function main() {
  const [cmd, keyFile, arg, audience] = process.argv.slice(2)
  const pem = fs.readFileSync(keyFile, 'utf8')
  if (cmd === 'sign') {
    const claims = JSON.parse(arg)
    // iat comes from the claims (vigil's schema), not from the library's clock.
    const token = await V4.sign(claims, crypto.createPrivateKey(pem), { iat: false })
    process.stdout.write(token + '\n')
  } else if (cmd === 'verify') {
    const opts = audience ? { audience } : {}
    const payload = await V4.verify(arg.trim(), crypto.createPublicKey(pem), opts)
    process.stdout.write(JSON.stringify(payload) + '\n')
  } else {
    process.stderr.write('usage: paseto_interop.js sign|verify KEY ARG [AUDIENCE]\n')
    process.exit(2)
  }
}

main().catch((e) => {
  process.stderr.write(`paseto: ${e.code || e.name}: ${e.message}\n`)
  process.exit(1)
})
