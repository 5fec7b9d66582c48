// Preloaded with `node --require` before anything can start libuv's thread pool (which runs
// argon2): more threads than cores only adds switching between hashes (measured on 2 cores:
// 120 → 146 sign-ins/s), so the pool matches the machine unless the operator chose a size.
process.env.UV_THREADPOOL_SIZE ??= String(require('node:os').availableParallelism())
