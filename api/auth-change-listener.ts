import { AUTH_CHANNEL, type ApiKeyService } from '../activities/auth/api-key-service';
import type { EventStreams } from '../activities/events/event-stream';
import { listenForNotifications, type NotifyListener } from '../platform/pg-notify-listener';

/**
 * Follows key revocations and plugin status changes from every process (NOTIFY ownpilot_auth):
 * forgets the cached keys, then ends the open event streams whose key no longer passes.
 */
export function listenForAuthChanges(
  databaseUrl: string,
  keys: Pick<ApiKeyService, 'invalidate'>,
  streams: Pick<EventStreams, 'recheck'>,
): Promise<NotifyListener> {
  return listenForNotifications(databaseUrl, [AUTH_CHANNEL], (_channel, changed) => {
    keys.invalidate();
    void streams.recheck(changed);
  });
}
