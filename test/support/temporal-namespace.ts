import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { newId } from '../../platform/ids';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { eventually } from './wait';

/**
 * Registers a fresh namespace (with the OwnPilot search attributes) on the Temporal server at
 * `address` and resolves with its name once it is usable. For real API processes on a database
 * of their own: their startup schedule reconcile must not see (and delete) other files' schedules.
 */
export async function scratchNamespace(address: string, prefix: string): Promise<string> {
  const connection = await Connection.connect({ address });
  const namespace = `${prefix}-${newId(8).toLowerCase()}`;
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    await eventually(() => connection.workflowService.describeNamespace({ namespace }).then(() => true, () => false), Boolean);
    const searchAttributes = Object.fromEntries(
      ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]]),
    );
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    await eventually(
      () => connection.operatorService.listSearchAttributes({ namespace }),
      (listed) => ALL_SEARCH_ATTRIBUTES.every((key) => key.name in (listed.customAttributes ?? {})),
    );
    return namespace;
  } finally {
    await connection.close();
  }
}
