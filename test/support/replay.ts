import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

/** A recorded history above this many bytes of JSON is stored gzipped (large step outputs are runs of one character). */
const GZIP_ABOVE_BYTES = 1024 * 1024;
const RECORDED = /\.json(\.gz)?$/;

/** The recorded histories (`{ workflowId, history }` JSON files, `.json.gz` when large) in `dir`, by file name. */
export function recordedHistoryFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => RECORDED.test(f)).sort();
}

/** Whether `dir` holds a recorded history named `name` (plain or gzipped). */
export function hasRecordedHistory(dir: string, name: string): boolean {
  return fs.existsSync(path.join(dir, `${name}.json`)) || fs.existsSync(path.join(dir, `${name}.json.gz`));
}

/** Writes `history` of `workflowId` as `<name>.json`, or `<name>.json.gz` above 1 MB (removing the other form). */
export function writeRecordedHistory(dir: string, name: string, workflowId: string, history: temporal.api.history.v1.IHistory): void {
  const text = JSON.stringify({ workflowId, history: temporal.api.history.v1.History.fromObject(history).toJSON() }, null, 1);
  const gzip = Buffer.byteLength(text) > GZIP_ABOVE_BYTES;
  fs.rmSync(path.join(dir, `${name}.json${gzip ? '' : '.gz'}`), { force: true });
  fs.writeFileSync(path.join(dir, `${name}.json${gzip ? '.gz' : ''}`), gzip ? zlib.gzipSync(text, { level: 9 }) : text);
}

/** The `{ workflowId, history }` recorded in `file` of `dir`. */
export function readRecordedHistory(dir: string, file: string): { workflowId: string; history: temporal.api.history.v1.History } {
  const raw = fs.readFileSync(path.join(dir, file));
  const { workflowId, history } = JSON.parse((file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8')) as { workflowId: string; history: unknown };
  return { workflowId, history: temporal.api.history.v1.History.fromObject(history as Record<string, unknown>) };
}

/** Replays every recorded history in `dir` against today's workflow bundle; one result per file. */
export async function replayRecordedHistories(dir: string, replayName: string): Promise<{ workflowId: string; error: string | undefined }[]> {
  const histories = recordedHistoryFiles(dir).map((f) => readRecordedHistory(dir, f));
  const results: { workflowId: string; error: string | undefined }[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows/index.ts'), replayName }, histories)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  }
  return results;
}
