/** "1 token", "2 tokens", "1,000 tokens": a count as English reads it, in every message patrol writes. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}
