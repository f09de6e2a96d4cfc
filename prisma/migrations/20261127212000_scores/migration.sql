-- Adoption scores (src/scores): a score is the sum of the points of its components (audience
-- conditions) that hold for a profile or an account, named by bands. Current values live in
-- score_values (read by `computed <key>` and `computed <key>_band` in audiences); every period
-- (weekly by default) everyone's value is recorded once in score_snapshots, the period itself in
-- score_snapshot_periods, whose primary key makes a second snapshot of a period a no-op.
-- subject_id is a profile's id or a group's id (account level), so no foreign key to either; no
-- foreign key to scores either, as for computed traits: deleting a score deletes its rows.

-- CreateTable
CREATE TABLE "scores" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "level" "subject_level" NOT NULL DEFAULT 'profile',
    "components" JSONB NOT NULL,
    "bands" JSONB NOT NULL,
    "snapshot_period" TEXT NOT NULL DEFAULT 'weekly',
    "refresh_interval_seconds" INTEGER NOT NULL DEFAULT 3600,
    "version" INTEGER NOT NULL DEFAULT 1,
    "status" "trait_status" NOT NULL DEFAULT 'pending',
    "status_reason" TEXT,
    "value_count" INTEGER NOT NULL DEFAULT 0,
    "last_computed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "scores_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "score_values" (
    "score_id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "subject_id" UUID NOT NULL,
    "value" INTEGER NOT NULL,
    "band" TEXT NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "score_values_pkey" PRIMARY KEY ("score_id","subject_id")
);

-- CreateTable
CREATE TABLE "score_snapshot_periods" (
    "score_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "workspace_id" UUID NOT NULL,
    "taken_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "score_snapshot_periods_pkey" PRIMARY KEY ("score_id","period_start")
);

-- CreateTable
CREATE TABLE "score_snapshots" (
    "score_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "subject_id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "value" INTEGER NOT NULL,
    "band" TEXT NOT NULL,

    CONSTRAINT "score_snapshots_pkey" PRIMARY KEY ("score_id","subject_id","period_start")
);

-- CreateIndex
CREATE UNIQUE INDEX "scores_workspace_id_key_key" ON "scores"("workspace_id", "key");

-- CreateIndex
CREATE INDEX "score_values_workspace_id_subject_id_idx" ON "score_values"("workspace_id", "subject_id");
