-- One outbox row per write instead of one per profile: a request's touched profiles travel together
-- in `profile_ids` (at most 100 to a row, so a row stays small enough to be stored inline), and are
-- claimed, evaluated and deleted together. A row per profile cost ingest a heap tuple and three
-- index entries per profile per request, a fifth of Postgres's time in bench:ingest.
--
-- A known profile's pending first/last seen no longer travel in the outbox: they wait on the
-- profile row itself, in two columns no index covers, so that ingest's update of them is HOT (no
-- index entries). Evaluation folds them into first_seen_at / last_seen_at. Rows queued before this
-- migration keep their profile; their pending ranges move to the profiles.
ALTER TABLE "profiles" ADD COLUMN "pending_first_seen_at" TIMESTAMPTZ(3),
                       ADD COLUMN "pending_last_seen_at" TIMESTAMPTZ(3);

UPDATE "profiles" p
SET "pending_first_seen_at" = c.first_ts, "pending_last_seen_at" = c.last_ts
FROM (
  SELECT "profile_id", min("first_seen_at") AS first_ts, max("last_seen_at") AS last_ts
  FROM "profile_changes" WHERE "last_seen_at" IS NOT NULL GROUP BY "profile_id"
) c
WHERE p."id" = c."profile_id";

-- Nullable, as Prisma's migrate creates a list column; every write fills it.
ALTER TABLE "profile_changes" ADD COLUMN "profile_ids" UUID[];
UPDATE "profile_changes" SET "profile_ids" = ARRAY["profile_id"];

DROP INDEX "profile_changes_pending_seen_idx";
ALTER TABLE "profile_changes" DROP COLUMN "profile_id",
                              DROP COLUMN "first_seen_at",
                              DROP COLUMN "last_seen_at";

-- Room on each page for the new version of a row, so that widening a pending range stays HOT.
ALTER TABLE "profiles" SET (fillfactor = 85);
