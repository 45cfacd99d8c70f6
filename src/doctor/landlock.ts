// Whether the entrypoint's Landlock scoping is in force on this machine. Runs outside lockdown
// share the host's abstract unix socket namespace (X11, D-Bus, root daemons' control sockets);
// the entrypoint scopes them away with Landlock ABI 6 (Linux 6.12), and on a kernel without it
// runs on silently (a run's stderr is the agent's business): this check is where the human learns it.
import { loadNative } from '../system/native.js';
import type { Check } from './checks.js';

const CHECK = 'landlock scope';
const SCOPES_ABI = 6;

/** The decision from the ABI the kernel reports (0: no Landlock; undefined: the addon is not built). */
export function landlockScopeCheck(abi: number | undefined): Check {
  const unscoped =
    "runs outside lockdown can connect to every abstract unix socket of the machine (X11, D-Bus, root daemons) and signal the agent's other runs";
  if (abi === undefined)
    return {
      status: 'WARN',
      check: CHECK,
      detail: `cannot probe Landlock (the native addon is not built); without ABI ${SCOPES_ABI} ${unscoped}`,
      fix: 'npm run build',
    };
  if (abi === 0)
    return {
      status: 'WARN',
      check: CHECK,
      detail: `Landlock is missing or disabled in this kernel: ${unscoped}`,
      fix: 'add landlock to lsm= on the kernel command line (Linux >= 6.12) and reboot',
    };
  if (abi < SCOPES_ABI)
    return {
      status: 'WARN',
      check: CHECK,
      detail: `Landlock ABI ${abi} has no scopes (ABI ${SCOPES_ABI}, Linux 6.12): ${unscoped}`,
      fix: 'uname -r  # upgrade to Linux >= 6.12',
    };
  return {
    status: 'PASS',
    check: CHECK,
    detail: `Landlock ABI ${abi}: runs reach only their own abstract unix sockets and signal only their own processes`,
  };
}

export const landlockCheck = (): Check => landlockScopeCheck(loadNative()?.landlockAbi());
