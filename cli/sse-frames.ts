/** One Server-Sent Events frame: its fields as sent (`data` lines joined by newlines). */
export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

/**
 * The frames of a `text/event-stream` body, as the HTML spec parses them: `field: value` lines,
 * `:` comments ignored, a blank line ends a frame; frames without data (retry, pings) are skipped.
 */
export async function* sseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffered = '';
  let frame: SseFrame = { data: '' };
  let hasData = false;
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.search(/\r\n|\r|\n/)) >= 0) {
      if (end === buffered.length - 1 && buffered[end] === '\r') break; // a \r\n split across chunks
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + (buffered.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (hasData) yield frame;
        frame = { data: '' };
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
      if (field === 'data') {
        frame.data = hasData ? `${frame.data}\n${value}` : value;
        hasData = true;
      } else if (field === 'id' || field === 'event') {
        frame[field] = value;
      }
    }
  }
}
