import type { Server } from 'node:http';
import type { Express } from 'express';

/** An app listening on a free loopback port: its base URL, and `close` (open connections included). */
export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Starts `app` on 127.0.0.1 at a free port, or at `port` (the same API again after a restart). */
export async function serve(app: Express, port = 0): Promise<Served> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
