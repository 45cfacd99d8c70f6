// What an installed entrypoint was built from: the SHA-256 of the embedded C source and the
// compiler flags. `au new` records it next to the binary's hash; an agent whose record differs
// (or has none) runs an entrypoint from an older au, which rejects options this au passes.
import { COMPILER_FLAGS } from './flags.js';
import { sha256Of } from './verify.js';
import entrypointSource from './su_as_agent.c';

// Defined by scripts/build.mjs with the same formula: the bundle of `au run` has no C source.
declare const __AU_ENTRYPOINT_BUILD__: string | undefined;

let stamp: string | undefined;

export function currentBuildStamp(): string {
  if (typeof __AU_ENTRYPOINT_BUILD__ === 'string') return __AU_ENTRYPOINT_BUILD__;
  stamp ??= sha256Of(Buffer.from(JSON.stringify({ source: entrypointSource, flags: COMPILER_FLAGS })));
  return stamp;
}
