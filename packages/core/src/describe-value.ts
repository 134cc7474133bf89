/**
 * A short description of a value for an error message: `null`, `a Foo`, `an object` (also
 * for objects without a prototype), `the string "…"`, `number 3` ... Never throws.
 *
 * @param value - anything.
 * @returns the description.
 * @example
 * ```ts
 * describeValue(Object.create(null)); // 'an object'
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      let name: unknown;
      try {
        const proto: unknown = Object.getPrototypeOf(value);
        name = (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name;
      } catch {
        name = undefined; // A proxy may throw from getPrototypeOf.
      }
      return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
    }
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'function':
      return 'a function';
    case 'symbol':
      return value.toString();
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${value.toString()}`;
  }
}
