// What an installed entrypoint was built from: the SHA-256 of the embedded C source and the
// compiler flags. `au new` records it next to the binary's hash; an agent whose record differs
// (or has none) runs an entrypoint from an older au, which rejects options this au passes.
import { COMPILER_FLAGS } from './flags.js';
import { sha256Of } from './verify.js';
import entrypointSource from './su_as_agent.c';

let stamp: string | undefined;

export function currentBuildStamp(): string {
  stamp ??= sha256Of(Buffer.from(JSON.stringify({ source: entrypointSource, flags: COMPILER_FLAGS })));
  return stamp;
}
