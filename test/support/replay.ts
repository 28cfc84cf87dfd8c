import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

/** The recorded histories (`{ workflowId, history }` JSON files) in `dir`, by file name. */
export function recordedHistoryFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
}

/** Replays every recorded history in `dir` against today's workflow bundle; one result per file. */
export async function replayRecordedHistories(dir: string, replayName: string): Promise<{ workflowId: string; error: string | undefined }[]> {
  const histories = recordedHistoryFiles(dir).map((f) => {
    const { workflowId, history } = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { workflowId: string; history: unknown };
    return { workflowId, history: temporal.api.history.v1.History.fromObject(history as Record<string, unknown>) };
  });
  const results: { workflowId: string; error: string | undefined }[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows/index.ts'), replayName }, histories)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  }
  return results;
}
