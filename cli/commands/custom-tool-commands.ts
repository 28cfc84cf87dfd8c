import { printObject, printRows } from '../output';
import { arg, type Command, type CommandContext } from './command-types';

type Row = Record<string, unknown>;

/** `ownpilot custom-tools ...`: a user's own JavaScript tools, by id (admin sees and manages all). */
export function customToolCommands(): Record<string, Command> {
  const toolPath = (c: CommandContext) => `/api/v1/custom-tools/${encodeURIComponent(arg(c, 0, 'toolId'))}`;
  // The API toggles a custom tool through its patch.
  const setEnabled = (isEnabled: boolean): Command => async (c) => printObject(c.out, await c.api.patch<Row>(toolPath(c), { isEnabled }));
  return {
    'custom-tools list': async (c) => {
      const { customTools } = await c.api.get<{ customTools: Row[] }>('/api/v1/custom-tools');
      printRows(c.out, customTools, customTools, ['id', 'name', 'userId', 'isEnabled', 'requiresApproval', 'description']);
    },
    'custom-tools get': async (c) => printObject(c.out, await c.api.get<Row>(toolPath(c))),
    'custom-tools create': async (c) => printObject(c.out, await c.api.post<Row>('/api/v1/custom-tools', c.readJson(arg(c, 0, 'file.json')))),
    'custom-tools update': async (c) => printObject(c.out, await c.api.patch<Row>(toolPath(c), c.readJson(arg(c, 1, 'patch.json')))),
    'custom-tools delete': async (c) => {
      await c.api.delete(toolPath(c));
      printObject(c.out, { id: arg(c, 0, 'toolId'), deleted: true });
    },
    'custom-tools enable': setEnabled(true),
    'custom-tools disable': setEnabled(false),
  };
}
