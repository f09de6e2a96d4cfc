-- Journeys: versioned graphs of steps that people walk through one run at a time. Postgres holds
-- every run and its timer (due_at); Redis only carries the sweeps that look for what is due.

-- CreateEnum
CREATE TYPE "journey_status" AS ENUM ('draft', 'active', 'paused');

-- CreateEnum
CREATE TYPE "journey_run_status" AS ENUM ('active', 'converted', 'exited', 'completed');

-- CreateTable
CREATE TABLE "journeys" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "journey_status" NOT NULL DEFAULT 'draft',
    "version" INTEGER NOT NULL DEFAULT 1,
    "definition" JSONB NOT NULL,
    "activated_at" TIMESTAMPTZ(3),
    "entries_scanned_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "journeys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "journeys_workspace_id_key_key" ON "journeys"("workspace_id", "key");

-- AddForeignKey
ALTER TABLE "journeys" ADD CONSTRAINT "journeys_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "journey_versions" (
    "journey_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "definition" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "journey_versions_pkey" PRIMARY KEY ("journey_id", "version")
);

-- AddForeignKey
ALTER TABLE "journey_versions" ADD CONSTRAINT "journey_versions_journey_id_fkey" FOREIGN KEY ("journey_id") REFERENCES "journeys"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "journey_runs" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "journey_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "profile_id" UUID NOT NULL,
    "active_profile_id" UUID,
    "entry_transition_id" BIGINT,
    "entry_event" JSONB,
    "status" "journey_run_status" NOT NULL DEFAULT 'active',
    "step_id" TEXT NOT NULL,
    "step_seq" INTEGER NOT NULL DEFAULT 0,
    "step_entered_at" TIMESTAMPTZ(3) NOT NULL,
    "due_at" TIMESTAMPTZ(3),
    "variant" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),
    "end_reason" TEXT,

    CONSTRAINT "journey_runs_pkey" PRIMARY KEY ("id")
);

-- One active run per person and journey: active_profile_id is the profile while the run is active
-- and NULL once it ends (NULLs never collide).
CREATE UNIQUE INDEX "journey_runs_journey_id_active_profile_id_key" ON "journey_runs"("journey_id", "active_profile_id");

-- An entry transition starts at most one run of a journey, however often the ledger is scanned.
CREATE UNIQUE INDEX "journey_runs_journey_id_entry_transition_id_key" ON "journey_runs"("journey_id", "entry_transition_id");

-- CreateIndex
CREATE INDEX "journey_runs_journey_id_profile_id_idx" ON "journey_runs"("journey_id", "profile_id");

-- CreateIndex
CREATE INDEX "journey_runs_workspace_id_active_profile_id_idx" ON "journey_runs"("workspace_id", "active_profile_id");

-- The timer wheel: what is due, found from Postgres (active runs only).
CREATE INDEX "journey_runs_due_at_idx" ON "journey_runs"("due_at") WHERE "status" = 'active' AND "due_at" IS NOT NULL;

-- AddForeignKey
ALTER TABLE "journey_runs" ADD CONSTRAINT "journey_runs_journey_id_fkey" FOREIGN KEY ("journey_id") REFERENCES "journeys"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "journey_run_steps" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "step_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "entered_at" TIMESTAMPTZ(3) NOT NULL,
    "left_at" TIMESTAMPTZ(3) NOT NULL,
    "outcome" TEXT NOT NULL,
    "detail" JSONB,

    CONSTRAINT "journey_run_steps_pkey" PRIMARY KEY ("id")
);

-- A step of a run is recorded once: the step's effects and this row commit together.
CREATE UNIQUE INDEX "journey_run_steps_run_id_seq_key" ON "journey_run_steps"("run_id", "seq");

-- AddForeignKey
ALTER TABLE "journey_run_steps" ADD CONSTRAINT "journey_run_steps_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "journey_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Journey sends go through the deliveries ledger: a delivery belongs to an audience transition or
-- to one step (seq) of one run, which it can be only once.
ALTER TABLE "deliveries" ALTER COLUMN "transition_id" DROP NOT NULL;
ALTER TABLE "deliveries" ADD COLUMN "journey_run_id" UUID;
ALTER TABLE "deliveries" ADD COLUMN "journey_seq" INTEGER;
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_subject_check" CHECK ("transition_id" IS NOT NULL OR ("journey_run_id" IS NOT NULL AND "journey_seq" IS NOT NULL));

-- CreateIndex
CREATE UNIQUE INDEX "deliveries_journey_run_id_journey_seq_key" ON "deliveries"("journey_run_id", "journey_seq");

-- AddForeignKey
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_journey_run_id_fkey" FOREIGN KEY ("journey_run_id") REFERENCES "journey_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
