import type { AppError } from '../../platform/errors';
import { sandboxError } from './sandbox/quickjs-sandbox';

/** The host calls (`tools.call`) one top-level execution may make, shared by every tool nested in it. */
export interface HostCallBudget {
  /** Counts one call; throws TOOL_FAILED (reason `call_limit`) once the budget is spent, and on every call after. */
  spend(): void;
  /** The error every run of the tree fails with once a call was refused; undefined until then. */
  readonly exceeded: AppError | undefined;
}

/** A budget of `max` host calls for one top-level executeTool and everything it nests. */
export function createHostCallBudget(max: number): HostCallBudget {
  let spent = 0;
  let exceeded: AppError | undefined;
  return {
    spend() {
      if (spent >= max) {
        exceeded ??= sandboxError('call_limit', `the tool made more than ${max} tool calls (tools.call), counting the tools it called`);
        throw exceeded;
      }
      spent += 1;
    },
    get exceeded() {
      return exceeded;
    },
  };
}
