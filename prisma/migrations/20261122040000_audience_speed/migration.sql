-- Audience speed at 10M events (issue 4). The index that serves event-name conditions now also
-- holds profile_id and type, so that a whole-audience `performed` / `never performed` / first or
-- last performed reads only the index (an index-only scan) instead of one random heap page per
-- matching event: `never performed "Tutorial Viewed"` read ~250k heap pages of a 7 GB table for
-- the `type = 'track'` test and the profile id. Range scans on (workspace_id, name, timestamp),
-- such as the funnel entry step, use the leading columns as before.
-- Index-only scans rely on the visibility map, which (auto)vacuum maintains.
-- In one transaction, like every migration: writes to events wait while the index builds (about
-- half a minute at 10M events on the benchmark machine).

-- DropIndex
DROP INDEX "events_workspace_id_name_timestamp_idx";

-- CreateIndex
CREATE INDEX "events_workspace_id_name_timestamp_profile_id_type_idx" ON "events"("workspace_id", "name", "timestamp", "profile_id", "type");
