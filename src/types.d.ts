// The C entrypoint is embedded in the bundle as text by esbuild's text loader.
declare module '*.c' {
  const text: string;
  export default text;
}
