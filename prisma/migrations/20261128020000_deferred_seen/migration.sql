-- Ingest no longer updates a known profile's first_seen_at / last_seen_at in the request: the
-- outbox row it writes anyway carries the seen range of the request's new events for that profile,
-- and real-time evaluation applies it (coalesced per profile) before it evaluates the profile.
-- Readers that need the value sooner take the pending rows into account through the partial index.
ALTER TABLE "profile_changes" ADD COLUMN "first_seen_at" TIMESTAMPTZ(3),
                              ADD COLUMN "last_seen_at" TIMESTAMPTZ(3);

CREATE INDEX "profile_changes_pending_seen_idx" ON "profile_changes" ("profile_id") WHERE "last_seen_at" IS NOT NULL;

-- What an identify's timestamp is compared with (an older identify only fills keys the profile
-- lacks): the newest identify the profile took, kept on the row that every identify updates and
-- locks, so concurrent requests see each other's. Before, it was last_seen_at, which ingest no
-- longer keeps current in the request; NULL (every existing profile) falls back to it.
ALTER TABLE "profiles" ADD COLUMN "last_identified_at" TIMESTAMPTZ(3);
