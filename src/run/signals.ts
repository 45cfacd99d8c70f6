// Terminating signals sent to `au` are passed to the entrypoint, which ends the agent's
// whole process tree (its pid namespace) — so nothing the agent started outlives the run.
const FORWARDED = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;

export function forwardTerminatingSignals(send: (signal: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED.map((signal) => {
    const handler = (): void => send(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
