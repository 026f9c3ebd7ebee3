// Runs s3rver in its own process for the tests (started by ./s3-emulator.ts; not for direct use).
// A child process keeps s3rver's synchronous filesystem walks and its legacy OpenSSL need
// (--openssl-legacy-provider) out of the test worker. CommonJS because s3rver is CommonJS and the
// package is an ES module.
//
// argv[2]: the directory s3rver stores buckets in (a fresh temp directory owned by the parent).
// Protocol over the IPC channel: the child sends {type: 'ready', port} once listening, or
// {type: 'failed', message} if it cannot start.
'use strict';

const fs = require('node:fs');
const S3rver = require('s3rver');

const directory = process.argv[2];
if (!directory || !process.send) {
  console.error('usage: spawned by test/support/s3-emulator.ts with an IPC channel and a directory');
  process.exit(2);
}

function shutDown() {
  // The parent removes the directory on an orderly stop; this covers a parent that died first.
  fs.rmSync(directory, { recursive: true, force: true });
  process.exit(0);
}

// The IPC channel closes when the parent exits, however it exits (even SIGKILL): the emulator must
// never outlive the test run that started it.
process.on('disconnect', shutDown);
process.on('SIGTERM', shutDown);

// Port 0: the OS picks a free port, so parallel runs never collide; the bound port is reported back.
new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true })
  .run()
  .then(({ port }) => process.send({ type: 'ready', port }))
  .catch((error) => {
    process.send({ type: 'failed', message: String(error?.stack ?? error) }, () => process.exit(1));
  });
