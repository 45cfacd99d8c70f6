// Whether an address is one of this machine's own (loopback aside, every address of its
// interfaces, and any range routed as local): a service of the human bound to 0.0.0.0 answers
// on all of them, so for the network policy they are loopback by another door. The kernel
// decides, as nftables' `fib daddr type local` does for the rules: binding a UDP socket to an
// address succeeds only for a local (or broadcast/multicast) one. The interface list is read
// too, for an address the bind check could not try.
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';

const listedOnInterfaces = (address: string): boolean =>
  Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address.toLowerCase() === address.toLowerCase()));

function bindsLocally(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv4(address) ? { type: 'udp4' } : { type: 'udp6', ipv6Only: true });
    const done = (local: boolean): void => {
      socket.removeAllListeners();
      socket.once('error', () => {});
      try {
        socket.close();
      } catch {
        // never bound
      }
      resolve(local);
    };
    socket.once('error', () => done(false));
    socket.once('listening', () => done(true));
    socket.bind({ address, port: 0, exclusive: true });
  });
}

/** True when address (unmapped, no zone id) is this machine's own. */
export async function isLocalAddress(address: string): Promise<boolean> {
  return listedOnInterfaces(address) || (await bindsLocally(address));
}
