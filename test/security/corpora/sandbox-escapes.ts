/**
 * Hostile custom-tool bodies for the QuickJS sandbox. Each entry: a label, the code (the body
 * of an async function with `args` and `tools` in scope) and the failure expected — a
 * `details.reason` string or a RegExp over `reason message`. `{{MARKER}}` is replaced by a
 * host file path that an escape would create.
 */
export type EscapeCase = [label: string, code: string, expected: RegExp | string | null];

/** Classic attempts: host globals, constructors, loops, memory, output, wrapper break-outs. */
export const BASIC_ESCAPES: EscapeCase[] = [
  ['constructor chain to process', "return this.constructor.constructor('return process')().env", /process' is not defined|error/],
  ['Function constructor to process', "return Function('return process')().mainModule", 'error'],
  ['dynamic import', "const fs = await import('fs'); return fs.readFileSync('/etc/passwd', 'utf8')", 'error'],
  ['require', "return require('child_process').execSync('id').toString()", 'error'],
  ['infinite loop', 'while (true) {}', 'timeout'],
  ['infinite loop after await', 'await null; for (;;) {}', 'timeout'],
  // QuickJS cannot interrupt inside a native builtin: this one is stopped by the memory limit
  // or, if it is still stuck past the time limit, by terminating its worker thread.
  ['memory bomb', 'const a = []; while (true) a.push(new Array(100000).fill(1))', /out_of_memory|timeout/],
  ['native builtin in a loop', 'const a = new Array(300000).fill(0); for (;;) a.fill(1)', /timeout/],
  ['string doubling', "let s = 'x'; while (true) s += s", /out_of_memory|error/],
  ['deep recursion', 'function f(n) { return f(n + 1) + 1 } return f(0)', 'stack_overflow'],
  ['huge output', "return 'x'.repeat(1024 * 1024)", 'output_too_large'],
  ['promise that never settles', 'await new Promise(() => {})', 'never_settled'],
  ['breaking out of the wrapper after a tool call', "await __call('core.math', '{oops'); })(); 'x'; (async () => {", /error|never_settled/],
  ['catching the interrupt and looping on', 'for (;;) { try { while (true) {} } catch (e) {} }', 'timeout'],
];

// What every CVE payload does once it believes it holds the host: prove it by writing MARKER.
const PWN = "p.mainModule.require('fs').writeFileSync('{{MARKER}}', 'pwned'); return 'ESCAPED'";

/**
 * Public vm2 / node:vm escapes, adapted to our entry point (an async function body). Against
 * vm2 each reached the host `process`; here each must fail or return plain data, never write
 * MARKER, never hang the host and never grow its memory without bound.
 */
export const CVE_ESCAPES: EscapeCase[] = [
  [
    'vm2 CVE-2023-37466 (GHSA-cchq-frgv-rjh5): Promise species handler receives a host error',
    `async function fn() { (function stack() { new Error().stack; stack(); })(); }
     const pr = fn();
     pr.constructor = { [Symbol.species]: class FakePromise { constructor(executor) {
       executor((x) => x, (err) => { const p = err.constructor.constructor('return process')(); ${PWN}; }); } } };
     pr.then();
     return 'not escaped';`,
    null,
  ],
  [
    'vm2 CVE-2023-37903 (GHSA-g644-9gfx-q4q4): custom inspect hands out the host inspect function',
    `const custom = Symbol.for('nodejs.util.inspect.custom');
     const obj = { [custom]: (depth, opt, inspect) => { const p = inspect.constructor('return process')(); ${PWN}; }, valueOf: undefined, constructor: undefined };
     await WebAssembly.compileStreaming(obj).catch(() => {});
     return 'not escaped';`,
    null,
  ],
  [
    'vm2 CVE-2023-32314 (GHSA-whpj-8f3w-67p5): Proxy apply trap on Error name toString',
    `const err = new Error();
     err.name = { toString: new Proxy(() => '', { apply(target, thiz, args) { const p = args.constructor.constructor('return process')(); ${PWN}; } }) };
     try { err.stack; } catch (out) { return out; }
     return 'not escaped';`,
    null,
  ],
  [
    'vm2 CVE-2023-30547 (GHSA-ch3r-j5x3-6q2m): exception sanitizer bypassed by a Proxy getPrototypeOf',
    `const handler = { getPrototypeOf() { (function stack() { new Error().stack; stack(); })(); } };
     const proxied = new Proxy({}, handler);
     try { throw proxied; } catch ({ constructor: c }) { const p = c.constructor('return process')(); ${PWN}; }`,
    null,
  ],
  [
    'vm2 CVE-2022-36067 (GHSA-mrgp-mrhc-5jrq, SandBreak): Error.prepareStackTrace sees host call sites',
    `globalThis.OldError = globalThis.Error;
     try { Error = {}; } catch (e) {}
     Error.prepareStackTrace = (errStr, traces) => { for (const t of traces) { const f = t.getThis && t.getThis(); if (f) { const p = f.constructor.constructor('return process')(); ${PWN}; } } };
     const { stack } = new OldError();
     return String(stack).slice(0, 100);`,
    null,
  ],
  [
    'vm2 CVE-2023-29017 (GHSA-7jxr-cg7f-gpgv): prepareStackTrace frames from an async constructor error',
    `Error.prepareStackTrace = (e, frames) => { const p = frames.constructor.constructor('return process')(); ${PWN}; };
     (async () => {}).constructor('return process')();
     return 'not escaped';`,
    null,
  ],
  [
    'vm2 GHSA-248r-7h7q-cr24: async generator yield* return-thenable captures an engine RangeError',
    `class E extends Error {}
     function so(d) { if (d > 0) so(d - 1); throw new E(); }
     async function* helper() { yield* { [Symbol.asyncIterator]: () => ({ next: (v) => ({ value: v, done: false }), throw: (v) => ({ value: v, done: false }) }) }; }
     async function doCatch(f) { const i = helper(); await i.next(); const v = await i.return({ then(r) { f(); r(); } }); return v.value; }
     for (const depth of [10, 1000, 100000]) {
       let e; try { e = await doCatch(() => so(depth)); } catch (err) { e = err; }
       if (e && e.constructor) { const p = e.constructor.constructor('return process')(); if (p) { ${PWN}; } }
     }
     return 'not escaped';`,
    null,
  ],
  [
    'vm2 GHSA-55hx-c926-fr95: SuppressedError / AggregateError sub-error smuggling',
    `const nested = new Error('nested'); nested.name = Symbol();
     const agg = new AggregateError([nested], 'any');
     try { await Promise.any([Promise.reject(agg)]); } catch (e) {
       const inner = e.errors && e.errors[0] && e.errors[0].errors && e.errors[0].errors[0];
       const F = inner && inner.constructor && inner.constructor.constructor;
       const p = F && F('return process')(); if (p) { ${PWN}; }
     }
     return 'not escaped';`,
    null,
  ],
  [
    'node:vm: this.constructor.constructor("return process")() from the global object',
    `const p = this.constructor.constructor('return process')(); ${PWN};`,
    /process' is not defined|error/,
  ],
  ['node:vm: globalThis.__proto__ chain to a foreign Function', `const p = globalThis.__proto__.constructor.constructor('return this')().process; ${PWN};`, /error|cannot read|undefined/i],
  ['node:vm: arguments.callee.caller walks into the host', `const c = (function () { return arguments.callee.caller; })(); if (c) { const p = c.constructor('return process')(); ${PWN}; } return 'not escaped';`, null],
  ['import() of a node built-in', "const cp = await import('node:child_process'); cp.execSync('touch {{MARKER}}'); return 'ESCAPED'", 'error'],
  ['import.meta / require.main', "return typeof require !== 'undefined' ? require.main.require('fs') : import.meta", 'error'],
  ['host timers and SharedArrayBuffer exist?', "return [typeof setTimeout, typeof setImmediate, typeof queueMicrotask === 'function' ? 'ok' : 'none', typeof SharedArrayBuffer, typeof Atomics, typeof WebAssembly, typeof performance]", null],
  ['Atomics.wait blocks the thread forever', 'const sab = new SharedArrayBuffer(16); Atomics.wait(new Int32Array(sab), 0, 0); return "woke"', /timeout|error/],
  ['SharedArrayBuffer timer: a counting loop as a clock', 'const sab = new SharedArrayBuffer(8); const a = new Int32Array(sab); for (;;) Atomics.add(a, 0, 1)', /timeout|error/],
  ['ArrayBuffer of 2 GiB', 'return new ArrayBuffer(2 ** 31).byteLength', /out_of_memory|error/],
  ['typed array of a billion elements', 'return new Float64Array(1e9).length', /out_of_memory|error/],
  ['string repeat to 2^28', "return 'x'.repeat(2 ** 28).length", /out_of_memory|error/],
  ['array join memory bomb', "return new Array(1e8).join('xxxxxxxx').length", /out_of_memory|error|timeout/],
  ['regex catastrophic backtracking', "return /^(a+)+$/.test('a'.repeat(40) + 'b')", 'timeout'],
  ['microtask flood', 'const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {})', /timeout|never_settled|out_of_memory/],
  ['eval of a loop', "eval('for(;;){}')", 'timeout'],
  ['getter on the result object loops on the host side', 'return { get x() { for (;;) {} } }', /timeout|error/],
  ['toJSON on the result object reaches for the host', "return { toJSON() { const p = this.constructor.constructor('return process')(); " + PWN + '; } }', null],
];
