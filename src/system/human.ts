// Who is driving `au`: the invoking user. Never derived from environment variables the
// agent could have influenced; the passwd entry of the real uid is the truth.
import { userInfo } from 'node:os';

export interface Human {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function currentHuman(): Human {
  const info = userInfo();
  return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
}
