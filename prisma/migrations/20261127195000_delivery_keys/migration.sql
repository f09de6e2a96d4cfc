-- A delivery is for an audience transition (one per destination, transition and recipient, NULLS NOT
-- DISTINCT so that a profile audience's single recipient counts once) or for a journey run's step
-- (transition_id NULL; unique per run and step). The transition key only covers transition rows, or
-- every journey send of a destination would collide on (destination, NULL, NULL). Statements insert
-- with a bare ON CONFLICT DO NOTHING, which needs no index inference.
DROP INDEX "deliveries_destination_id_transition_id_recipient_id_key";
CREATE UNIQUE INDEX "deliveries_destination_id_transition_id_recipient_id_key"
    ON "deliveries"("destination_id", "transition_id", "recipient_id") NULLS NOT DISTINCT
    WHERE "transition_id" IS NOT NULL;
