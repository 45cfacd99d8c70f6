// At a run's start, before the agent can touch its review shares: au notes what each upper
// layer holds (base.ts), so that re-creating a staged file during the run does not reset the
// time the agent first changed it.
import type { MountConfig } from '../config/schema.js';
import type { Human } from '../system/human.js';
import { noteStage } from './base.js';
import { stageDir } from './staging.js';

export function noteReviewShares(agentName: string, mounts: readonly MountConfig[], human: Pick<Human, 'uid'>): void {
  for (const mount of mounts) {
    if (mount.review !== undefined) noteStage(stageDir(agentName, human.uid, mount.review), mount.source, human.uid);
  }
}
