// Ctrl-Z under `au run`: the agent's command stopping becomes a stop of `au` itself, so the
// human's shell shows the job as stopped, and `fg` continues the agent, as sudo and script do.
// The entrypoint sends au SIGTSTP when the command stops (su_as_agent.c, job control above
// run_p0); au then gives the terminal back, stops with SIGTSTP's default action, and once
// continued takes the terminal again and sends the entrypoint SIGCONT, which continues the
// command. A SIGTSTP from anyone else (`kill -TSTP`) is handled the same way: the terminal is
// never left raw behind a stopped au.
import type { HumanTerminal } from '../terminal/human-terminal.js';

export interface StoppedAgent {
  /** Shows what the agent wrote before it stopped (its "suspended" message, its restored modes). */
  drain(): void;
  /** Tells the agent's PTY the window size, which may have changed while au was stopped. */
  resize(): void;
  /** Continues the entrypoint, which continues the command (a no-op if it was not stopped). */
  continueAgent(): void;
}

export function relayStops(terminal: HumanTerminal, agent: StoppedAgent): () => void {
  const onStop = (): void => {
    agent.drain();
    terminal.suspend();
    // With no listener left, Node restores SIGTSTP's default action. au's whole process group
    // stops, as on the human's own Ctrl-Z (so `au run -- vim | cat` is a stopped job, not a
    // half-stopped one), au here, and the kill returns on SIGCONT: at once if the group is
    // orphaned (no job control), where the kernel discards the stop as for the agent without au.
    process.off('SIGTSTP', onStop);
    try {
      process.kill(0, 'SIGTSTP');
    } finally {
      process.on('SIGTSTP', onStop);
    }
    try {
      terminal.resume();
    } catch {
      // The terminal is gone (hung up while stopped): the agent still goes on, to get its SIGHUP.
    }
    agent.resize();
    agent.continueAgent();
  };
  process.on('SIGTSTP', onStop);
  return () => process.off('SIGTSTP', onStop);
}
