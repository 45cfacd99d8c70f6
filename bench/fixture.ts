// What every benchmark needs: root (to create users), a throwaway human with sudo and one agent
// of theirs, removed afterwards whatever happens.
import { type Human, createHuman } from '../test/helpers/system.js';

export async function withBenchAgent(body: (human: Human, agent: string) => void | Promise<void>): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('npm run bench needs root: it creates a throwaway human and agent');
    process.exit(2);
  }
  const human = createHuman();
  try {
    await body(human, human.newAgent());
  } finally {
    human.cleanup();
  }
}
