/** Response headers as the gateway returns them: lower-case names, every value; `set` replaces, `add` appends. */
export class HeaderList {
  readonly multi: Record<string, string[]> = {};

  set(name: string, value: string): this {
    this.multi[name.toLowerCase()] = [value];
    return this;
  }

  add(name: string, value: string): this {
    (this.multi[name.toLowerCase()] ??= []).push(value);
    return this;
  }

  /** The last value of each name. */
  single(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.multi).map(([k, v]) => [k, v[v.length - 1]!]));
  }
}
