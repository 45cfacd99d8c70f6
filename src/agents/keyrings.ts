// The kernel's keyrings of a uid (A28): the user keyring `_uid.N`, the user-session keyring
// `_uid_ses.N` and the persistent keyring are the uid's, not the account's, and outlive it. An
// agent that plants keys there hands them to the next account given its uid (or the agent
// reads what a former owner of the uid left). So they are cleared as that uid before the
// account is removed (`au delete -H`) and before a new account's first run (`au new`).
import type { CommandRunner } from '../system/runner.js';

/** Runs ARGV as uid:gid with no supplementary groups (so the kernel picks that uid's keyrings). */
const asUid = (uid: number, gid: number, argv: readonly string[]): string[] => [
  'setpriv',
  `--reuid=${uid}`,
  `--regid=${gid}`,
  '--clear-groups',
  '--',
  ...argv,
];

/** Empties the user, user-session and persistent keyrings of UID (a kernel without one is fine). */
export function clearKeyrings(runner: CommandRunner, uid: number, gid: number): void {
  // The persistent keyring has no @-name: keyctl names it by id, linked for the moment into @u
  // (whose clear, next, drops that link again).
  runner.change(asUid(uid, gid, ['sh', '-c', 'id=$(keyctl get_persistent @u 2>/dev/null) || exit 0; keyctl clear "$id"']), {
    privileged: true,
    allowFailure: true,
  });
  runner.change(asUid(uid, gid, ['keyctl', 'clear', '@u']), { privileged: true, allowFailure: true });
  runner.change(asUid(uid, gid, ['keyctl', 'clear', '@us']), { privileged: true, allowFailure: true });
}
