-- One outbox row per write instead of one per profile: a request's touched profiles travel together
-- in `profile_ids` (at most 100 to a row, so a row stays small enough to be stored inline), and are
-- claimed, evaluated and deleted together. A row per profile cost ingest a heap tuple and three
-- index entries per profile per request, a fifth of Postgres's time in bench:ingest.
--
-- A known profile's pending first/last seen no longer travel in the outbox: they are read from its
-- events (events(workspace_id, profile_id, timestamp)), which hold the same timestamps, so the
-- ranges and their partial index go. Rows queued before this migration keep their profile.
-- Nullable, as Prisma's migrate creates a list column; every write fills it.
ALTER TABLE "profile_changes" ADD COLUMN "profile_ids" UUID[];
UPDATE "profile_changes" SET "profile_ids" = ARRAY["profile_id"];

DROP INDEX "profile_changes_pending_seen_idx";
ALTER TABLE "profile_changes" DROP COLUMN "profile_id",
                              DROP COLUMN "first_seen_at",
                              DROP COLUMN "last_seen_at";
