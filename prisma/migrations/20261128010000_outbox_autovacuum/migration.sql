-- The outbox of real-time evaluation (profile_changes) is a queue: every row is inserted, claimed
-- and deleted within seconds. With the default thresholds (20 % of the table) autovacuum waits for
-- dead rows to outnumber live ones many times over on a table that is usually nearly empty, and
-- claims and deletes walk over every dead version until it comes. Vacuum it after a fixed number
-- of dead rows instead, without the cost delay, and without truncating the empty pages at the end
-- of the table (the lock that takes stops every claim; new rows fill those pages anyway). The
-- worker also vacuums it itself when autovacuum does not (OutboxRelayService).
ALTER TABLE "profile_changes" SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0,
    vacuum_truncate = false
);
