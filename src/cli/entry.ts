// The process entry point bundled into dist/au.cjs.
import { main } from './main.js';
import { exitQuietlyOnBrokenPipe } from '../terminal/broken-pipe.js';

exitQuietlyOnBrokenPipe();

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
