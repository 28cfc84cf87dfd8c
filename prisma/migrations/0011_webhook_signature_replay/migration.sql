-- The delivery id is not signed, so it cannot be the only replay key: a captured request resent
-- with a fresh id would verify again. Each verified signature is now claimed by the first delivery
-- id that brought it, and the primary key lets only one id claim it, also when copies race.
-- Several rows may share a delivery id: a sender's retry re-signs with a fresh timestamp.
ALTER TABLE trigger_webhook_deliveries ADD COLUMN signature_digest TEXT;
-- Rows written before this migration have no signature: their old key stands in for it (not hex,
-- so it never equals a digest). They are pruned like the others, two hours after they came.
UPDATE trigger_webhook_deliveries SET signature_digest = 'delivery:' || delivery_id;
ALTER TABLE trigger_webhook_deliveries ALTER COLUMN signature_digest SET NOT NULL;
ALTER TABLE trigger_webhook_deliveries DROP CONSTRAINT trigger_webhook_deliveries_pkey;
ALTER TABLE trigger_webhook_deliveries ADD PRIMARY KEY (trigger_id, signature_digest);
