import { sseFrames, type SseFrame } from './sse-frames';

/** Raised for any failed API call; the CLI prints `message` as its one line. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The answer's parsed body (a 503 /health still says which part is down). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  apiKey: string | undefined;
  fetch?: typeof fetch;
}

type Issue = { path?: unknown; message?: string };

/**
 * The issues an error's details list (`: name: Too small; /level: Required`), so a refused request
 * names its fault; '' without issues, or when the message already names the first (a tool's arguments).
 */
function issueSummary(message: string, issues: unknown): string {
  if (!Array.isArray(issues) || issues.length === 0) return '';
  if (message.includes(String((issues[0] as Issue).message))) return '';
  const said = ({ path, message: what = 'invalid' }: Issue) => {
    const at = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : '';
    return at ? `${at}: ${what}` : what;
  };
  return `: ${(issues as Issue[]).map(said).join('; ')}`;
}

/** A thin JSON client for /api/v1 that turns the standard error body into an ApiError. */
export function createApiClient({ baseUrl, apiKey, fetch: fetchImpl = fetch }: ApiClientOptions) {
  async function send(method: string, path: string, init: { body?: unknown; accept: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers: {
          accept: init.accept,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (error) {
      const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new ApiError(0, 'UNREACHABLE', `cannot reach the API at ${baseUrl}: ${reason}`);
    }
    if (!response.ok) {
      const text = await response.text();
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      const error = (parsed as { error?: { code?: string; message?: string; details?: { issues?: unknown } } } | undefined)?.error;
      const said = error?.message ?? response.statusText;
      const message = `${error?.code ?? response.status}: ${said}${issueSummary(said, error?.details?.issues)}`;
      throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, message, parsed);
    }
    return response;
  }
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await (await send(method, path, { body, accept: 'application/json' })).text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body: unknown = {}) => call<T>('POST', path, body),
    put: <T>(path: string, body: unknown) => call<T>('PUT', path, body),
    patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
    /** A body only where a route wants one (revoking a grant). */
    delete: <T>(path: string, body?: unknown) => call<T>('DELETE', path, body),
    /** The frames of a Server-Sent Events endpoint, from `lastEventId` on when given; ends when the server ends the stream. */
    async stream(path: string, lastEventId?: string, signal?: AbortSignal): Promise<AsyncGenerator<SseFrame>> {
      const response = await send('GET', path, { accept: 'text/event-stream', headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId }, signal });
      if (!response.body) throw new ApiError(response.status, 'HTTP_NO_BODY', `${path} answered without a body`);
      return sseFrames(response.body);
    },
  };
}
export type ApiClient = ReturnType<typeof createApiClient>;
