// The C entrypoint is embedded in the bundle as text by esbuild's text loader.
declare module '*.c' {
  const text: string;
  export default text;
}

// node-pty's loader of its own native binding (only its openpty and resize are used: see
// src/run/pty-relay.ts).
declare module 'node-pty/lib/utils.js' {
  export function loadNativeModule(name: string): { module: unknown; dir: string };
}
