/**
 * `stickerkey dashboard`: bull-board, the maintained BullMQ dashboard, on a port of its own.
 * Its Hono adapter is the lightest of bull-board's server adapters (hono and @hono/node-server
 * have no dependencies of their own; the express and fastify ones bring a framework each).
 *
 * Safe by default: read-only (no retry, remove, promote or clean buttons; the API refuses them
 * too) and bound to 127.0.0.1, so it is reached through an SSH tunnel or a platform's private
 * network unless the operator says otherwise (--host, --allow-actions). It has no login of its
 * own: put it behind one before exposing it.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { Queue } from 'bullmq';
import { Hono } from 'hono';

export interface DashboardOptions {
  redisUrl: string;
  queues: readonly string[];
  host?: string;
  port?: number;
  /** Allow retry/remove/promote/clean from the page (default false: read-only). */
  allowActions?: boolean;
}

export interface Dashboard {
  url: string;
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const queues = options.queues.map((name) => new Queue(name, { connection: { url: options.redisUrl } }));
  const serverAdapter = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: !options.allowActions })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'stickerkey' } },
  });
  serverAdapter.setBasePath('/');
  const app = new Hono();
  app.route('/', serverAdapter.registerPlugin());

  const server = createAdaptorServer({ fetch: app.fetch });
  const host = options.host ?? '127.0.0.1';
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    address,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}
