// Clarity value helpers the API needs: the VM's `repr` text, type signatures as the Hiro API
// prints them, and an argument type check against a contract interface (the node's
// BadFunctionArgument admission check).
import { ClarityType, serializeCV } from '@stacks/transactions';

export function hex0x(cv) {
  return '0x' + serializeCV(cv);
}

function quoteAscii(s) {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** Clarity's own printed form of a value, e.g. `(ok u1)`, `'ST1….name`, `(tuple (a u1))`. */
export function repr(cv) {
  switch (cv.type) {
    case ClarityType.Int:
      return BigInt(cv.value).toString();
    case ClarityType.UInt:
      return 'u' + BigInt(cv.value).toString();
    case ClarityType.BoolTrue:
      return 'true';
    case ClarityType.BoolFalse:
      return 'false';
    case ClarityType.Buffer:
      return '0x' + cv.value;
    case ClarityType.PrincipalStandard:
    case ClarityType.PrincipalContract:
      return "'" + cv.value;
    case ClarityType.StringASCII:
      return quoteAscii(cv.value);
    case ClarityType.StringUTF8:
      return 'u' + quoteAscii(cv.value);
    case ClarityType.OptionalNone:
      return 'none';
    case ClarityType.OptionalSome:
      return `(some ${repr(cv.value)})`;
    case ClarityType.ResponseOk:
      return `(ok ${repr(cv.value)})`;
    case ClarityType.ResponseErr:
      return `(err ${repr(cv.value)})`;
    case ClarityType.List:
      return cv.value.length ? `(list ${cv.value.map(repr).join(' ')})` : '(list )';
    case ClarityType.Tuple: {
      const keys = Object.keys(cv.value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      return `(tuple ${keys.map((k) => `(${k} ${repr(cv.value[k])})`).join(' ')})`;
    }
    default:
      return String(cv.value);
  }
}

/** Interface atom type → signature text, e.g. `(optional (buff 34))`. */
export function typeString(t) {
  if (typeof t === 'string') {
    return { int128: 'int', uint128: 'uint', bool: 'bool', principal: 'principal', none: 'none', trait_reference: 'trait_reference' }[t] ?? t;
  }
  if (t.buffer) return `(buff ${t.buffer.length})`;
  if (t['string-ascii']) return `(string-ascii ${t['string-ascii'].length})`;
  if (t['string-utf8']) return `(string-utf8 ${t['string-utf8'].length})`;
  if (t.optional) return `(optional ${typeString(t.optional)})`;
  if (t.response) return `(response ${typeString(t.response.ok)} ${typeString(t.response.error)})`;
  if (t.list) return `(list ${t.list.length} ${typeString(t.list.type)})`;
  if (t.tuple) return `(tuple ${t.tuple.map((e) => `(${e.name} ${typeString(e.type)})`).join(' ')})`;
  return JSON.stringify(t);
}

export function functionSignature(fn) {
  const args = fn.args.map((a) => `(${a.name} ${typeString(a.type)})`).join(' ');
  const access = fn.access === 'read_only' ? 'define-read-only' : fn.access === 'public' ? 'define-public' : 'define-private';
  return `(${access} (${fn.name}${args ? ' ' + args : ''}))`;
}

/** Returns null when `cv` fits `t`, else a message. */
export function typeMismatch(cv, t) {
  const bad = () => `expected ${typeString(t)}, got ${repr(cv)}`;
  if (typeof t === 'string') {
    switch (t) {
      case 'int128':
        return cv.type === ClarityType.Int ? null : bad();
      case 'uint128':
        return cv.type === ClarityType.UInt ? null : bad();
      case 'bool':
        return cv.type === ClarityType.BoolTrue || cv.type === ClarityType.BoolFalse ? null : bad();
      case 'principal':
        return cv.type === ClarityType.PrincipalStandard || cv.type === ClarityType.PrincipalContract ? null : bad();
      case 'trait_reference':
        return cv.type === ClarityType.PrincipalContract ? null : bad();
      case 'none':
        return cv.type === ClarityType.OptionalNone ? null : bad();
      default:
        return null;
    }
  }
  if (t.buffer) return cv.type === ClarityType.Buffer && cv.value.length / 2 <= t.buffer.length ? null : bad();
  if (t['string-ascii']) return cv.type === ClarityType.StringASCII && Buffer.byteLength(cv.value, 'latin1') <= t['string-ascii'].length ? null : bad();
  if (t['string-utf8']) return cv.type === ClarityType.StringUTF8 && Buffer.byteLength(cv.value, 'utf8') <= t['string-utf8'].length ? null : bad();
  if (t.optional) {
    if (cv.type === ClarityType.OptionalNone) return null;
    return cv.type === ClarityType.OptionalSome ? typeMismatch(cv.value, t.optional) : bad();
  }
  if (t.response) {
    if (cv.type === ClarityType.ResponseOk) return typeMismatch(cv.value, t.response.ok);
    if (cv.type === ClarityType.ResponseErr) return typeMismatch(cv.value, t.response.error);
    return bad();
  }
  if (t.list) {
    if (cv.type !== ClarityType.List || cv.value.length > t.list.length) return bad();
    for (const item of cv.value) {
      const m = typeMismatch(item, t.list.type);
      if (m) return m;
    }
    return null;
  }
  if (t.tuple) {
    if (cv.type !== ClarityType.Tuple) return bad();
    const names = Object.keys(cv.value);
    if (names.length !== t.tuple.length) return bad();
    for (const e of t.tuple) {
      if (!(e.name in cv.value)) return bad();
      const m = typeMismatch(cv.value[e.name], e.type);
      if (m) return m;
    }
    return null;
  }
  return null;
}
