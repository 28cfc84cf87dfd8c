import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes that make OwnPilot runs findable in the Temporal Web UI. */
export const OwnPilotPlanId = defineSearchAttributeKey('OwnPilotPlanId', SearchAttributeType.KEYWORD);
export const OwnPilotTriggerId = defineSearchAttributeKey('OwnPilotTriggerId', SearchAttributeType.KEYWORD);
export const OwnPilotPluginId = defineSearchAttributeKey('OwnPilotPluginId', SearchAttributeType.KEYWORD);
export const OwnPilotKind = defineSearchAttributeKey('OwnPilotKind', SearchAttributeType.KEYWORD);
export const OwnPilotStartedBy = defineSearchAttributeKey('OwnPilotStartedBy', SearchAttributeType.KEYWORD);

/** Every key above, for registering them on a server. */
export const ALL_SEARCH_ATTRIBUTES = [OwnPilotPlanId, OwnPilotTriggerId, OwnPilotPluginId, OwnPilotKind, OwnPilotStartedBy];
