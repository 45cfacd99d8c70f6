// Loads a module at first use instead of at start-up. Bundled imports are all evaluated when
// the bundle loads, and some built-ins (child_process, crypto) cost milliseconds each: that
// matters on `au run`, which runs for every agent command. Works bundled (CommonJS: Node's own
// require) and from the TypeScript sources (ES modules, in tests). No import of node:module:
// in a bundle it would load that module, and the ESM loader behind it, on every start.
export const lazyRequire: NodeJS.Require =
  typeof require === 'function' ? require : process.getBuiltinModule('node:module').createRequire(import.meta.url);
