import { z } from 'zod';
import { Agent, fetch, type Response } from 'undici';
import { AppError } from '../../../platform/errors';
import { defineTool, type BuiltinTool } from '../tool-types';
import { assertHostAllowed, guardedLookup, type AddressPolicy } from './address-guard';

export interface HttpToolConfig extends AddressPolicy {
  maxResponseBytes: number;
  defaultTimeoutMs: number;
}

const MAX_REDIRECTS = 5;

const HttpArgs = z.object({
  url: z.url({ protocol: /^https?$/ }).max(4000),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  headers: z.record(z.string().min(1).max(200), z.string().max(8000)).default({}),
  body: z.union([z.string().max(1_000_000), z.json()]).optional(),
  timeoutMs: z.number().int().min(1).max(120_000).optional(),
});

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        await response.body.cancel().catch(() => undefined);
        throw new AppError('TOOL_FAILED', `response exceeds ${maxBytes} bytes`, { reason: 'response_too_large', maxBytes });
      }
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding']);

/** `headers` without those named in `names` (lower case), whatever case the caller wrote them in. */
function withoutHeaders(headers: Record<string, string>, names: Set<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name.toLowerCase())));
}

/**
 * core.http.request: outbound HTTP with a timeout, a response size limit and no access to
 * loopback/private/link-local/reserved addresses (every resolved address is checked, also
 * after each redirect) unless the config allows them. A redirect to another origin drops the
 * credential headers, and one that turns the request into a GET drops the body's headers.
 */
export function createHttpTools(config: HttpToolConfig): readonly BuiltinTool[] {
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(config) } });
  return [
    defineTool({
      definition: {
        name: 'core.http.request',
        description: 'Makes an outbound HTTP(S) request to a public address and returns status, headers and body',
        category: 'http',
        parameters: z.toJSONSchema(HttpArgs, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>,
        tags: ['http', 'network', 'fetch'],
      },
      args: HttpArgs,
      execute: async ({ url, method, headers, body, timeoutMs }, context) => {
        const signals = [AbortSignal.timeout(timeoutMs ?? config.defaultTimeoutMs), ...(context.signal ? [context.signal] : [])];
        const signal = AbortSignal.any(signals);
        const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        let sendHeaders: Record<string, string> = { ...(typeof body === 'object' && body !== null ? { 'content-type': 'application/json' } : {}), ...headers };
        let target = new URL(url);
        let currentMethod: string = method;
        let currentBody = payload;
        for (let hop = 0; ; hop++) {
          assertHostAllowed(target.hostname, config);
          let response: Response;
          try {
            response = await fetch(target, { method: currentMethod, headers: sendHeaders, body: currentBody, redirect: 'manual', signal, dispatcher });
          } catch (error) {
            const cause = (error as { cause?: unknown }).cause;
            if (cause instanceof AppError) throw cause;
            if (signal.aborted) throw new AppError('TOOL_TIMEOUT', `request to ${target.host} timed out or was aborted`, { url: target.href });
            throw new AppError('TOOL_FAILED', `request to ${target.host} failed: ${(cause as Error | undefined)?.message ?? (error as Error).message}`, { reason: 'network', url: target.href });
          }
          const location = response.headers.get('location');
          if (response.status >= 300 && response.status < 400 && location) {
            await response.body?.cancel().catch(() => undefined);
            if (hop >= MAX_REDIRECTS) throw new AppError('TOOL_FAILED', `more than ${MAX_REDIRECTS} redirects`, { reason: 'too_many_redirects' });
            const next = new URL(location, target);
            if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new AppError('FORBIDDEN', `redirect to ${next.protocol} is not allowed`);
            // As fetch does: credentials meant for one origin are not handed to the next one.
            if (next.origin !== target.origin) sendHeaders = withoutHeaders(sendHeaders, CREDENTIAL_HEADERS);
            target = next;
            if (response.status === 303 || ((response.status === 301 || response.status === 302) && currentMethod === 'POST')) {
              currentMethod = 'GET';
              currentBody = undefined;
              sendHeaders = withoutHeaders(sendHeaders, BODY_HEADERS);
            }
            continue;
          }
          const text = await readLimited(response, config.maxResponseBytes);
          const isJson = /\bjson\b/i.test(response.headers.get('content-type') ?? '');
          let parsed: unknown = text;
          if (isJson && text !== '') {
            try {
              parsed = JSON.parse(text) as unknown;
            } catch {
              parsed = text;
            }
          }
          return { status: response.status, url: target.href, headers: Object.fromEntries(response.headers), body: parsed };
        }
      },
    }),
  ];
}
