// Everything the CLI prints. Results go to stdout; diagnostics and printed system commands
// to stderr. Colours only on a terminal and never with NO_COLOR.
const colourful = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && !('NO_COLOR' in process.env);

type Colour = 'red' | 'green' | 'yellow' | 'bold';
const CODES: Record<Colour, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22] };

export function paint(text: string, colour: Colour, stream: NodeJS.WriteStream = process.stdout): string {
  if (!colourful(stream)) return text;
  const [open, close] = CODES[colour];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export const warn = (line: string): void => {
  process.stderr.write(`${paint('warning:', 'yellow', process.stderr)} ${line}\n`);
};

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
