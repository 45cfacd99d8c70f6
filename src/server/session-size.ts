// Whose size a session has: each attached client's last size request, the latest in effect
// (tmux's "window-size latest"). When that client leaves, its size goes with it: the session
// takes the previous request of a client still attached, else the owner's size (the start
// size, then the owner's last request). So an operator's web page that sized the session to
// its window gives the owner's size back when it leaves. A pure decision: session.ts applies it.
export interface Size {
  cols: number;
  rows: number;
}

export class SessionSizes<Client> {
  private readonly requests = new Map<Client, Size>();
  private ownerSize: Size;

  constructor(start: Size) {
    this.ownerSize = { ...start };
  }

  /** A client asks for a size: it is the one in effect now. */
  request(client: Client, size: Size, isOwner: boolean): void {
    this.requests.delete(client);
    this.requests.set(client, { ...size });
    if (isOwner) this.ownerSize = { ...size };
  }

  /** A client left: the size to go back to when its request was the one in effect, else undefined. */
  leave(client: Client): Size | undefined {
    const latest = [...this.requests.keys()].pop();
    if (!this.requests.delete(client) || latest !== client) return undefined;
    return { ...([...this.requests.values()].pop() ?? this.ownerSize) };
  }
}
