import net from 'node:net';

/** Resolves when nothing listens on host:port, rejects with a one-line reason otherwise. */
export function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () => reject(new Error(`port ${port} on ${host} is already in use`)));
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A port the OS reports free right now (tests use it to avoid clashing with a running stack). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
