-- Sync sources beyond profile audiences: computed traits connected to destinations, and account
-- audiences connected to `segment` destinations (a `group` call per member). Their deliveries are
-- written by triggers, in the transaction that writes the change itself (a trait's history row, an
-- account audience's transition), so a change can be neither lost nor doubled and the engines that
-- write them need not know about these destinations. The delivery ids also go into sync_outbox,
-- which a relay in the worker drains onto the delivery queues (the delivery sweeper covers a relay
-- that died between draining and enqueueing).

CREATE TABLE "trait_destinations" (
    "id" UUID NOT NULL,
    "trait_id" UUID NOT NULL,
    "destination_id" UUID NOT NULL,
    "backfill" BOOLEAN NOT NULL DEFAULT false,
    "connected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "trait_destinations_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "trait_destinations_trait_id_fkey" FOREIGN KEY ("trait_id") REFERENCES "computed_traits"("id") ON DELETE CASCADE,
    CONSTRAINT "trait_destinations_destination_id_fkey" FOREIGN KEY ("destination_id") REFERENCES "destinations"("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "trait_destinations_trait_id_destination_id_key" ON "trait_destinations"("trait_id", "destination_id");
CREATE INDEX "trait_destinations_destination_id_idx" ON "trait_destinations"("destination_id");

-- A trait change's delivery: one per destination and history row (no foreign key, as for the
-- history itself: deleting a trait deletes its history, and its deliveries with the connection).
ALTER TABLE "deliveries" ADD COLUMN "trait_change_id" BIGINT;
CREATE UNIQUE INDEX "deliveries_destination_id_trait_change_id_key"
    ON "deliveries"("destination_id", "trait_change_id") WHERE "trait_change_id" IS NOT NULL;
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_subject_check";
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_subject_check" CHECK (
    "transition_id" IS NOT NULL
    OR ("journey_run_id" IS NOT NULL AND "journey_seq" IS NOT NULL)
    OR "trait_change_id" IS NOT NULL);

CREATE TABLE "sync_outbox" (
    "delivery_id" UUID NOT NULL,
    "destination_id" UUID NOT NULL,
    CONSTRAINT "sync_outbox_pkey" PRIMARY KEY ("delivery_id")
);

-- Statement-level, over the rows the statement inserted: a full computation of a trait nobody
-- connected pays one index probe of trait_destinations.
CREATE FUNCTION "trait_change_deliveries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM trait_destinations) THEN
    RETURN NULL;
  END IF;
  WITH queued AS (
    INSERT INTO deliveries (id, workspace_id, destination_id, trait_change_id)
    SELECT gen_random_uuid(), c.workspace_id, td.destination_id, c.id
    FROM changes c JOIN trait_destinations td ON td.trait_id = c.trait_id
    WHERE c.at >= td.connected_at
    ON CONFLICT DO NOTHING
    RETURNING id, destination_id
  )
  INSERT INTO sync_outbox (delivery_id, destination_id) SELECT id, destination_id FROM queued;
  RETURN NULL;
END $$;

CREATE TRIGGER "computed_trait_history_deliveries"
    AFTER INSERT ON "computed_trait_history"
    REFERENCING NEW TABLE AS changes
    FOR EACH STATEMENT EXECUTE FUNCTION "trait_change_deliveries"();

-- An account audience's transition to a `segment` destination: one delivery per live member (its
-- group call and identify). Email destinations of account audiences get theirs from the membership
-- engine, by recipient rule; nothing here touches them.
CREATE FUNCTION "account_transition_deliveries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM audience_destinations ad
    JOIN destinations d ON d.id = ad.destination_id AND d.type = 'segment'
    JOIN audiences a ON a.id = ad.audience_id AND a.level = 'account'
  ) THEN
    RETURN NULL;
  END IF;
  WITH queued AS (
    INSERT INTO deliveries (id, workspace_id, destination_id, transition_id, recipient_id)
    SELECT gen_random_uuid(), t.workspace_id, ad.destination_id, t.id, p.id
    FROM transitions t
    JOIN audiences a ON a.id = t.audience_id AND a.level = 'account'
    JOIN audience_destinations ad ON ad.audience_id = t.audience_id
    JOIN destinations d ON d.id = ad.destination_id AND d.type = 'segment'
    JOIN group_memberships gm ON gm.group_id = t.profile_id
    JOIN profiles p ON p.id = gm.profile_id AND p.merged_into_id IS NULL
    WHERE (ad.send = 'both' OR ad.send::text = t.kind::text) AND t.at >= ad.connected_at
    ON CONFLICT DO NOTHING
    RETURNING id, destination_id
  )
  INSERT INTO sync_outbox (delivery_id, destination_id) SELECT id, destination_id FROM queued;
  RETURN NULL;
END $$;

CREATE TRIGGER "audience_transitions_account_deliveries"
    AFTER INSERT ON "audience_transitions"
    REFERENCING NEW TABLE AS transitions
    FOR EACH STATEMENT EXECUTE FUNCTION "account_transition_deliveries"();
