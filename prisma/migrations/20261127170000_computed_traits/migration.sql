-- Computed traits: values kept per profile (and, later, per account) from a definition in the
-- audience language's family (src/traits/language). Values live in their own table rather than in
-- profiles.traits so that a computation never rewrites a profile row, and so that identify calls
-- and computations never overwrite each other. The history holds one row per change of a value.

-- CreateEnum
CREATE TYPE "trait_status" AS ENUM ('pending', 'computing', 'ready', 'failed');

-- CreateTable
CREATE TABLE "computed_traits" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "level" "subject_level" NOT NULL DEFAULT 'profile',
    "definition_ast" JSONB NOT NULL,
    "definition_text" TEXT NOT NULL,
    "refresh_interval_seconds" INTEGER NOT NULL DEFAULT 3600,
    "version" INTEGER NOT NULL DEFAULT 1,
    "status" "trait_status" NOT NULL DEFAULT 'pending',
    "status_reason" TEXT,
    "value_count" INTEGER NOT NULL DEFAULT 0,
    "last_computed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "computed_traits_pkey" PRIMARY KEY ("id")
);

-- CreateTable
-- profile_id holds a group's id for account-level traits (as audience_members does), so no
-- foreign key to profiles; erasure deletes a profile's values and history explicitly. No foreign
-- key to computed_traits either: its per-row check took a third of a full computation (3.2 of 9 s
-- for 100,000 values and their history rows); deleting a trait deletes its rows under the trait's lock.
CREATE TABLE "computed_trait_values" (
    "trait_id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "computed_trait_values_pkey" PRIMARY KEY ("trait_id","profile_id")
);

-- CreateTable
CREATE TABLE "computed_trait_history" (
    "id" BIGSERIAL NOT NULL,
    "workspace_id" UUID NOT NULL,
    "trait_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "old_value" JSONB,
    "new_value" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "computed_trait_history_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "computed_traits_workspace_id_key_key" ON "computed_traits"("workspace_id", "key");

-- A profile's values of every trait (GET /api/profiles/:id, templates, webhook payloads).
-- CreateIndex
CREATE INDEX "computed_trait_values_workspace_id_profile_id_idx" ON "computed_trait_values"("workspace_id", "profile_id");

-- One profile's series of one trait, in time order (GET /api/traits/:id/history?profileId=).
-- CreateIndex
CREATE INDEX "computed_trait_history_trait_id_profile_id_at_idx" ON "computed_trait_history"("trait_id", "profile_id", "at");

-- AddForeignKey
ALTER TABLE "computed_traits" ADD CONSTRAINT "computed_traits_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
