// Entry of a sandbox worker thread: loads the TypeScript worker through tsx, so it runs the
// same way under `npm start` (tsx), jest and the benchmarks.
require('tsx/cjs/api').require('./sandbox-worker.ts', __filename);
