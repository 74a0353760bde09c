-- Today's WildDuck filter fields: `query.listId` (partial match on List-ID:), `action.targets`
-- (a JSON array of forwarding addresses and http(s) upload URLs, besides the older single
-- action_forward/action_target_url) and the client's `metaData` (a JSON object).
ALTER TABLE filters ADD COLUMN query_list_id TEXT;
ALTER TABLE filters ADD COLUMN action_targets TEXT;
ALTER TABLE filters ADD COLUMN meta_data TEXT;
