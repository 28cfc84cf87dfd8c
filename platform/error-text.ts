const SOURCE_PATH = /(?:[A-Za-z]:)?(?:\/[\w.@+-]+)+\.(?:[cm]?[jt]s)(?::\d+)*/g;

/**
 * An error's text fit to store and show to API callers: Prisma's multi-line "Invalid `x()`
 * invocation in <file>" report is cut to its last line (the actual reason), and any source path
 * left is replaced, so responses never reveal the server's files.
 */
export function publicErrorText(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  const reason = /invocation/.test(text) && lines.length > 1 ? lines[lines.length - 1]! : lines.join(' ');
  return reason.replace(SOURCE_PATH, '<source>');
}
