// `au ... | head -1`: when the reader of au's output goes away, au ends as a command killed by
// SIGPIPE would (status 141), quietly: no stack trace on the human's terminal.
const SIGPIPE_STATUS = 141;

function exitOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(SIGPIPE_STATUS);
    throw error;
  });
}

/**
 * Node makes process.stdout and process.stderr on first use, and making one costs milliseconds
 * (the tty or net module for a terminal or a pipe): a run that execs the entrypoint never writes
 * and never pays it. So the handler is attached when a stream is first made, by whoever asks.
 */
export function exitQuietlyOnBrokenPipe(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const made = Object.getOwnPropertyDescriptor(process, name);
    if (!made?.get || !made.configurable) {
      exitOnEpipe(process[name]);
      continue;
    }
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: made.enumerable,
      get(): NodeJS.WriteStream {
        Object.defineProperty(process, name, made); // Node's own getter again (it keeps the stream)
        const stream = process[name];
        exitOnEpipe(stream);
        return stream;
      },
    });
  }
}
