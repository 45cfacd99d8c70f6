// Loads a module at first use instead of at start-up. Bundled imports are all evaluated when
// the bundle loads, and some built-ins (child_process, crypto) cost milliseconds each: that
// matters on `au run`, which runs for every agent command. Works bundled (CommonJS) and from
// the TypeScript sources (ES modules, in tests).
import { createRequire } from 'node:module';

export const lazyRequire: NodeJS.Require = typeof require === 'function' ? require : createRequire(import.meta.url);
