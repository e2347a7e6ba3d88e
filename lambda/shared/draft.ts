/**
 * An object being built field by field, on a hot path where conditional spreads cost ten times as much:
 * every field optional and writable until the builder returns it as `T`.
 */
export type Draft<T> = { -readonly [K in keyof T]?: T[K] };
