-- A journey send names its recipient: the run's person, or each chosen member of an account run.
-- The journey key becomes (run, step, recipient): an account run's step sends one email per
-- recipient, each at most once. Journey rows always have a recipient, so NULLs never meet here.
UPDATE "deliveries" d SET "recipient_id" = r."profile_id"
FROM "journey_runs" r
WHERE d."journey_run_id" = r."id" AND d."recipient_id" IS NULL;
DROP INDEX "deliveries_journey_run_id_journey_seq_key";
CREATE UNIQUE INDEX "deliveries_journey_run_id_journey_seq_recipient_id_key"
    ON "deliveries"("journey_run_id", "journey_seq", "recipient_id");

-- The frequency cap at send time: when a delivery passed the cap (it counts from then, before it is
-- sent), and the messages of a workspace's recent window, found without reading its whole history.
ALTER TABLE "deliveries" ADD COLUMN "cap_counted_at" TIMESTAMPTZ(3);
CREATE INDEX "deliveries_recent_messages_idx"
    ON "deliveries"("workspace_id", (coalesce("cap_counted_at", "sent_at")))
    WHERE "status" IN ('sending', 'sent', 'failed');
