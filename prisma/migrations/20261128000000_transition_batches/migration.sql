-- Transition batches: the membership engine writes one delivery per `segment` destination (without
-- a rate limit) and up to 1,250 transitions of a statement, with the transitions' ids in
-- `transition_ids`, instead of one row per transition. The row is claimed, posted (in /v1/batch
-- requests) and recorded once for all of them; what does not share the outcome of the rest (a
-- transition the receiver refused, a request that must be retried) moves to a row of its own.
-- Each transition's messageIds derive from (destination, transition), so they do not change when
-- a transition moves to another row.
ALTER TABLE "deliveries" ADD COLUMN "transition_ids" BIGINT[];
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_subject_check";
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_subject_check" CHECK (
    "transition_id" IS NOT NULL
    OR ("journey_run_id" IS NOT NULL AND "journey_seq" IS NOT NULL)
    OR "trait_change_id" IS NOT NULL
    OR cardinality("transition_ids") > 0);
