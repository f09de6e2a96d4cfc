-- Accounts (the groups of `group` calls) and account audiences.

-- A group's created_at is the timestamp of its first `group` call (ingest keeps the least one), so
-- that `created within 7 days` means what a customer sees, also for imported history.

-- Email to an account audience goes to some of the account's members: a member condition per
-- connection (absent: every member with an email address), as an AST and its canonical text.
ALTER TABLE "audience_destinations" ADD COLUMN "recipients" JSONB;
ALTER TABLE "audience_destinations" ADD COLUMN "recipients_text" TEXT;

-- One delivery per transition and recipient: NULL for a profile audience (the transition's
-- profile is the recipient), the member's profile id for an account audience. NULLS NOT DISTINCT
-- keeps the exactly-once guard of profile audiences as it was.
ALTER TABLE "deliveries" ADD COLUMN "recipient_id" UUID;
DROP INDEX "deliveries_destination_id_transition_id_key";
CREATE UNIQUE INDEX "deliveries_destination_id_transition_id_recipient_id_key"
    ON "deliveries"("destination_id", "transition_id", "recipient_id") NULLS NOT DISTINCT;

-- Accounts are listed by group id.
CREATE INDEX "group_memberships_group_id_created_at_idx" ON "group_memberships"("group_id", "created_at");
