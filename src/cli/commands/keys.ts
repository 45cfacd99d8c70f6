import { type AgentKeys, KeysError, agentKeysCommand, parseAgentKeys } from '../../agents/keys.js';
import { loadConfig } from '../../config/store.js';
import type { Context } from '../context.js';
import { runAsAgentCaptured, visibleTail } from '../agent-capture.js';
import { printJson, say, warn } from '../output.js';
import { requireAgent } from './lookup.js';

export function keysCommand(ctx: Context, agentName: string, options: { json: boolean; rotate: boolean }): void {
  requireAgent(loadConfig(ctx.configPath), agentName);
  if (ctx.dryRun) {
    process.stderr.write(`$ au run -a ${agentName} -- ssh-keygen -t ed25519 ... (dry run: nothing was changed)\n`);
    return;
  }
  process.stderr.write(`$ au run -a ${agentName} -- ssh-keygen -t ed25519 ... && git config --global gpg.format ssh ...\n`);
  const r = runAsAgentCaptured(ctx, agentName, agentKeysCommand(options.rotate));
  if (r.status !== 0) throw new KeysError(`making the agent's keys failed (exit ${r.status}): ${visibleTail(r.stderr)}`);
  const keys = parseAgentKeys(r.stdout);
  if (options.json) {
    printJson({
      agent: agentName,
      auth_key: keys.authKey,
      signing_key: keys.signingKey,
      git: { name: keys.gitName ?? null, email: keys.gitEmail ?? null, signs_commits: true },
    });
    return;
  }
  printKeys(agentName, keys, options.rotate);
}

function printKeys(agentName: string, keys: AgentKeys, rotated: boolean): void {
  say(`${rotated ? 'New keys' : 'Keys'} of agent ${agentName} (its own, in /home/${agentName}/.ssh; never yours):`);
  say('');
  say('Authentication key: add it as a deploy key of the repository (or to a machine user of your forge), never to your own account:');
  say(`  ${keys.authKey}`);
  say("Signing key: the agent's commits are signed with it; add it as a signing key of that deploy key's user to show them as verified:");
  say(`  ${keys.signingKey}`);
  if (rotated) say('Remove the old keys from the forge.');
  if (!keys.gitName || !keys.gitEmail) {
    warn(
      `the agent's git identity is not set: au run -a ${agentName} -- git config --global user.name "${agentName} (agent)"; au run -a ${agentName} -- git config --global user.email "${agentName}@example.invalid"`,
    );
  }
}
