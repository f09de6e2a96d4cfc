-- Tracking messages that could not be stored as events (kind rejected), or were stored with a
-- change the sender should know about (kind warning): listed, replayed and deleted through
-- /api/quarantine. Rows are written in the same statement as the events of their request.
CREATE TABLE "quarantine" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "source_id" UUID,
    "kind" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "type" TEXT,
    "message_id" TEXT,
    "fingerprint" TEXT NOT NULL,
    "message" JSONB NOT NULL,
    "envelope" JSONB NOT NULL DEFAULT '{}',
    "errors" JSONB NOT NULL DEFAULT '[]',
    "warnings" JSONB NOT NULL DEFAULT '[]',
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "quarantine_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "quarantine_kind_check" CHECK ("kind" IN ('rejected', 'warning'))
);

-- A client that retries a request does not quarantine its messages twice.
CREATE UNIQUE INDEX "quarantine_workspace_id_fingerprint_key" ON "quarantine"("workspace_id", "fingerprint");
CREATE INDEX "quarantine_workspace_id_received_at_id_idx" ON "quarantine"("workspace_id", "received_at" DESC, "id" DESC);
CREATE INDEX "quarantine_workspace_id_source_id_received_at_id_idx" ON "quarantine"("workspace_id", "source_id", "received_at" DESC, "id" DESC);

ALTER TABLE "quarantine" ADD CONSTRAINT "quarantine_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "quarantine" ADD CONSTRAINT "quarantine_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "sources"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- "strict": one invalid message refuses its whole request (400), as before partial batches.
ALTER TABLE "sources" ADD COLUMN "validation" TEXT NOT NULL DEFAULT 'lenient';
ALTER TABLE "sources" ADD CONSTRAINT "sources_validation_check" CHECK ("validation" IN ('lenient', 'strict'));
