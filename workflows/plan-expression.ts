// A small, safe expression language for plan conditions and argument templates.
// Pure code (no eval, no globals): it may run inside the workflow sandbox.
//
// Grammar: literals (numbers, 'strings' / "strings", true, false, null), paths rooted at
// `input` or `steps` (`steps.fetch.output.items[0].url`, `input['a b']`), unary `!` and `-`,
// binary `* / % + - < <= > >= == != && ||`, `? :`, parentheses, and the functions
// len(x), lower(s), upper(s), contains(haystack, needle), exists(x).

export type Expr =
  | { type: 'literal'; value: unknown }
  | { type: 'path'; root: string; segments: Expr[] }
  | { type: 'unary'; op: '!' | '-'; operand: Expr }
  | { type: 'binary'; op: string; left: Expr; right: Expr }
  | { type: 'ternary'; test: Expr; then: Expr; otherwise: Expr }
  | { type: 'call'; name: string; args: Expr[] };

/** A syntax or evaluation error, with the position where parsing stopped. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

type Token = { kind: 'num' | 'str' | 'id' | 'op' | 'end'; value: string; pos: number };

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '!', '(', ')', '[', ']', '.', ',', '?', ':'];
const ROOTS = new Set(['input', 'steps']);
const FUNCTIONS = new Set(['len', 'lower', 'upper', 'contains', 'exists']);
const MAX_LENGTH = 2000;

function tokenize(source: string): Token[] {
  if (source.length > MAX_LENGTH) throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`);
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ kind: 'num', value: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'id', value: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < source.length) j++;
        text += source[j];
        j++;
      }
      if (j >= source.length) throw new ExpressionError(`unterminated string at ${i}`);
      tokens.push({ kind: 'str', value: text, pos: i });
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op) throw new ExpressionError(`unexpected character '${c}' at ${i}`);
    tokens.push({ kind: 'op', value: op, pos: i });
    i += op.length;
  }
  tokens.push({ kind: 'end', value: '', pos: source.length });
  return tokens;
}

/**
 * Names in `source` that hold a `-` (`n-1` in `input.n-1`): they read as one key, not as a
 * subtraction. Kept for plans saved before they were refused; new ones are refused on save.
 */
export function dashedNames(source: string): string[] {
  return tokenize(source).filter((t) => t.kind === 'id' && t.value.includes('-')).map((t) => t.value);
}

const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6,
};

/** Parses an expression; throws ExpressionError naming the offending position. */
export function parseExpression(source: string): Expr {
  const tokens = tokenize(source);
  let p = 0;
  const peek = () => tokens[p]!;
  const next = () => tokens[p++]!;
  const expectOp = (value: string) => {
    const t = next();
    if (t.kind !== 'op' || t.value !== value) throw new ExpressionError(`expected '${value}' at ${t.pos}`);
  };

  const primary = (): Expr => {
    const t = next();
    if (t.kind === 'num') return { type: 'literal', value: Number(t.value) };
    if (t.kind === 'str') return { type: 'literal', value: t.value };
    if (t.kind === 'op' && t.value === '(') {
      const inner = expression();
      expectOp(')');
      return inner;
    }
    if (t.kind === 'id') {
      if (t.value === 'true' || t.value === 'false') return { type: 'literal', value: t.value === 'true' };
      if (t.value === 'null') return { type: 'literal', value: null };
      if (FUNCTIONS.has(t.value) && peek().kind === 'op' && peek().value === '(') {
        next();
        const args: Expr[] = [];
        if (!(peek().kind === 'op' && peek().value === ')')) {
          do args.push(expression());
          while (peek().kind === 'op' && peek().value === ',' && next());
        }
        expectOp(')');
        return { type: 'call', name: t.value, args };
      }
      if (!ROOTS.has(t.value)) throw new ExpressionError(`unknown name '${t.value}' at ${t.pos} (paths start with input or steps)`);
      const segments: Expr[] = [];
      for (;;) {
        const n = peek();
        if (n.kind === 'op' && n.value === '.') {
          next();
          const key = next();
          if (key.kind !== 'id') throw new ExpressionError(`expected a property name at ${key.pos}`);
          segments.push({ type: 'literal', value: key.value });
        } else if (n.kind === 'op' && n.value === '[') {
          next();
          segments.push(expression());
          expectOp(']');
        } else break;
      }
      return { type: 'path', root: t.value, segments };
    }
    throw new ExpressionError(t.kind === 'end' ? 'unexpected end of expression' : `unexpected '${t.value}' at ${t.pos}`);
  };

  const unary = (): Expr => {
    const t = peek();
    if (t.kind === 'op' && (t.value === '!' || t.value === '-')) {
      next();
      return { type: 'unary', op: t.value, operand: unary() };
    }
    return primary();
  };

  const binary = (minPrecedence: number): Expr => {
    let left = unary();
    for (;;) {
      const t = peek();
      const precedence = t.kind === 'op' ? BINARY_PRECEDENCE[t.value] : undefined;
      if (precedence === undefined || precedence < minPrecedence) return left;
      next();
      left = { type: 'binary', op: t.value, left, right: binary(precedence + 1) };
    }
  };

  const expression = (): Expr => {
    const test = binary(1);
    if (peek().kind === 'op' && peek().value === '?') {
      next();
      const then = expression();
      expectOp(':');
      return { type: 'ternary', test, then, otherwise: expression() };
    }
    return test;
  };

  const result = expression();
  const rest = peek();
  if (rest.kind !== 'end') throw new ExpressionError(`unexpected '${rest.value}' at ${rest.pos}`);
  return result;
}

/** The step ids an expression reads (`steps.<id>...`); `steps[...]` with a computed id is rejected. */
export function referencedSteps(expr: Expr): string[] {
  const found = new Set<string>();
  const visit = (e: Expr): void => {
    switch (e.type) {
      case 'path':
        if (e.root === 'steps') {
          const first = e.segments[0];
          if (!first || first.type !== 'literal' || typeof first.value !== 'string') {
            throw new ExpressionError('a steps reference must name the step: steps.<id>.output');
          }
          found.add(first.value);
        }
        e.segments.forEach(visit);
        break;
      case 'unary':
        visit(e.operand);
        break;
      case 'binary':
        visit(e.left);
        visit(e.right);
        break;
      case 'ternary':
        visit(e.test);
        visit(e.then);
        visit(e.otherwise);
        break;
      case 'call':
        e.args.forEach(visit);
        break;
      case 'literal':
        break;
    }
  };
  visit(expr);
  return [...found];
}

/** What expressions may read: the run input and, per step, its output/status. */
export interface ExpressionScope {
  input: unknown;
  steps: Record<string, { output?: unknown; status?: string; error?: string }>;
}

function member(target: unknown, key: unknown): unknown {
  if (target === null || target === undefined) return undefined;
  if (typeof key !== 'string' && typeof key !== 'number') throw new ExpressionError('a property key must be a string or a number');
  const k = String(key);
  if (k === '__proto__' || k === 'constructor' || k === 'prototype') return undefined;
  if (Array.isArray(target)) return k === 'length' ? target.length : /^[0-9]+$/.test(k) ? target[Number(k)] : undefined;
  if (typeof target === 'string') return k === 'length' ? target.length : undefined;
  if (typeof target === 'object' && Object.prototype.hasOwnProperty.call(target, k)) return (target as Record<string, unknown>)[k];
  return undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

const num = (v: unknown, op: string): number => {
  if (typeof v !== 'number') throw new ExpressionError(`'${op}' needs numbers, got ${v === null ? 'null' : typeof v}`);
  return v;
};

/** Evaluates a parsed expression over the scope; missing paths read as undefined, type errors throw. */
export function evaluate(expr: Expr, scope: ExpressionScope): unknown {
  switch (expr.type) {
    case 'literal':
      return expr.value;
    case 'path': {
      let value: unknown = expr.root === 'input' ? scope.input : scope.steps;
      for (const segment of expr.segments) value = member(value, evaluate(segment, scope));
      return value;
    }
    case 'unary': {
      const v = evaluate(expr.operand, scope);
      return expr.op === '!' ? !truthy(v) : -num(v, '-');
    }
    case 'ternary':
      return truthy(evaluate(expr.test, scope)) ? evaluate(expr.then, scope) : evaluate(expr.otherwise, scope);
    case 'call': {
      const args = expr.args.map((a) => evaluate(a, scope));
      switch (expr.name) {
        case 'len': {
          const v = args[0];
          if (typeof v === 'string' || Array.isArray(v)) return v.length;
          if (v && typeof v === 'object') return Object.keys(v).length;
          return 0;
        }
        case 'lower':
          return String(args[0] ?? '').toLowerCase();
        case 'upper':
          return String(args[0] ?? '').toUpperCase();
        case 'contains': {
          const [hay, needle] = args;
          if (typeof hay === 'string') return hay.includes(String(needle));
          if (Array.isArray(hay)) return hay.some((x) => deepEqual(x, needle));
          return false;
        }
        default:
          return args[0] !== undefined && args[0] !== null;
      }
    }
    case 'binary': {
      if (expr.op === '&&') {
        const l = evaluate(expr.left, scope);
        return truthy(l) ? evaluate(expr.right, scope) : l;
      }
      if (expr.op === '||') {
        const l = evaluate(expr.left, scope);
        return truthy(l) ? l : evaluate(expr.right, scope);
      }
      const l = evaluate(expr.left, scope);
      const r = evaluate(expr.right, scope);
      switch (expr.op) {
        case '==':
          return deepEqual(l, r);
        case '!=':
          return !deepEqual(l, r);
        case '+':
          if (typeof l === 'string' || typeof r === 'string') return `${String(l)}${String(r)}`;
          return num(l, '+') + num(r, '+');
        case '-':
          return num(l, '-') - num(r, '-');
        case '*':
          return num(l, '*') * num(r, '*');
        case '/':
          return num(l, '/') / num(r, '/');
        case '%':
          return num(l, '%') % num(r, '%');
        default: {
          if (typeof l === 'string' && typeof r === 'string') return compare(expr.op, l < r ? -1 : l > r ? 1 : 0);
          return compare(expr.op, num(l, expr.op) - num(r, expr.op));
        }
      }
    }
  }
}

function compare(op: string, diff: number): boolean {
  return op === '<' ? diff < 0 : op === '<=' ? diff <= 0 : op === '>' ? diff > 0 : diff >= 0;
}

/** JavaScript-like truthiness, except that an empty array or object is false. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}
