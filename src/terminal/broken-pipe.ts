// `au ... | head -1`: when the reader of au's output goes away, au ends as a command killed by
// SIGPIPE would (status 141), quietly: no stack trace on the human's terminal.
const SIGPIPE_STATUS = 141;

export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(SIGPIPE_STATUS);
      throw error;
    });
  }
}
