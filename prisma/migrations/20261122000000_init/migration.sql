-- CreateEnum
CREATE TYPE "audience_status" AS ENUM ('pending', 'computing', 'ready', 'failed');

-- CreateEnum
CREATE TYPE "transition_kind" AS ENUM ('entered', 'exited');

-- CreateEnum
CREATE TYPE "destination_type" AS ENUM ('email', 'webhook');

-- CreateEnum
CREATE TYPE "send_transitions" AS ENUM ('entered', 'exited', 'both');

-- CreateEnum
CREATE TYPE "delivery_status" AS ENUM ('queued', 'sending', 'sent', 'failed', 'suppressed', 'skipped', 'dead');

-- CreateEnum
CREATE TYPE "suppression_reason" AS ENUM ('unsubscribed', 'bounced', 'complained', 'erased', 'manual');

-- CreateTable
CREATE TABLE "workspaces" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workspaces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sources" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "write_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "profiles" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "traits" JSONB NOT NULL DEFAULT '{}',
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "merged_into_id" UUID,
    "merge_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "profiles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identities" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identities_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "profile_merges" (
    "id" BIGSERIAL NOT NULL,
    "workspace_id" UUID NOT NULL,
    "from_profile_id" UUID NOT NULL,
    "into_profile_id" UUID NOT NULL,
    "identifiers" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "profile_merges_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "events" (
    "id" BIGSERIAL NOT NULL,
    "workspace_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "source_id" UUID NOT NULL,
    "message_id" VARCHAR(100) NOT NULL,
    "type" TEXT NOT NULL,
    "name" TEXT,
    "user_id" TEXT,
    "anonymous_id" TEXT,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "traits" JSONB,
    "context" JSONB NOT NULL DEFAULT '{}',
    "integrations" JSONB,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "original_timestamp" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "groups" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "group_id" TEXT NOT NULL,
    "traits" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "group_memberships" (
    "group_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_memberships_pkey" PRIMARY KEY ("group_id","profile_id")
);

-- CreateTable
CREATE TABLE "profile_changes" (
    "id" BIGSERIAL NOT NULL,
    "workspace_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "profile_changes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audiences" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "definition_ast" JSONB NOT NULL,
    "definition_text" TEXT NOT NULL,
    "include_historical_data" BOOLEAN NOT NULL DEFAULT true,
    "history_starts_at" TIMESTAMPTZ(3),
    "refresh_interval_seconds" INTEGER NOT NULL DEFAULT 3600,
    "version" INTEGER NOT NULL DEFAULT 1,
    "status" "audience_status" NOT NULL DEFAULT 'pending',
    "status_reason" TEXT,
    "member_count" INTEGER NOT NULL DEFAULT 0,
    "last_computed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audiences_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audience_members" (
    "audience_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "entered_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audience_members_pkey" PRIMARY KEY ("audience_id","profile_id")
);

-- CreateTable
CREATE TABLE "audience_transitions" (
    "id" BIGSERIAL NOT NULL,
    "workspace_id" UUID NOT NULL,
    "audience_id" UUID NOT NULL,
    "profile_id" UUID NOT NULL,
    "kind" "transition_kind" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "audience_version" INTEGER NOT NULL,

    CONSTRAINT "audience_transitions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "destinations" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "type" "destination_type" NOT NULL,
    "name" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "rate_limit_per_second" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "destinations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audience_destinations" (
    "id" UUID NOT NULL,
    "audience_id" UUID NOT NULL,
    "destination_id" UUID NOT NULL,
    "backfill" BOOLEAN NOT NULL DEFAULT false,
    "send" "send_transitions" NOT NULL DEFAULT 'entered',
    "connected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audience_destinations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deliveries" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "destination_id" UUID NOT NULL,
    "transition_id" BIGINT NOT NULL,
    "status" "delivery_status" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "provider_message_id" TEXT,
    "claimed_until" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "suppressions" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "reason" "suppression_reason" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "sources_write_key_key" ON "sources"("write_key");

-- CreateIndex
CREATE INDEX "sources_workspace_id_idx" ON "sources"("workspace_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_workspace_id_idx" ON "api_tokens"("workspace_id");

-- CreateIndex
CREATE INDEX "profiles_workspace_id_last_seen_at_idx" ON "profiles"("workspace_id", "last_seen_at");

-- CreateIndex
CREATE INDEX "profiles_workspace_id_first_seen_at_idx" ON "profiles"("workspace_id", "first_seen_at");

-- CreateIndex
CREATE INDEX "identities_profile_id_idx" ON "identities"("profile_id");

-- CreateIndex
CREATE UNIQUE INDEX "identities_workspace_id_type_value_key" ON "identities"("workspace_id", "type", "value");

-- CreateIndex
CREATE INDEX "profile_merges_workspace_id_into_profile_id_idx" ON "profile_merges"("workspace_id", "into_profile_id");

-- CreateIndex
CREATE INDEX "profile_merges_workspace_id_from_profile_id_idx" ON "profile_merges"("workspace_id", "from_profile_id");

-- CreateIndex
CREATE INDEX "events_workspace_id_profile_id_timestamp_idx" ON "events"("workspace_id", "profile_id", "timestamp");

-- CreateIndex
CREATE INDEX "events_workspace_id_name_timestamp_idx" ON "events"("workspace_id", "name", "timestamp");

-- CreateIndex
CREATE INDEX "events_workspace_id_profile_id_name_timestamp_idx" ON "events"("workspace_id", "profile_id", "name", "timestamp");

-- CreateIndex
CREATE UNIQUE INDEX "events_workspace_id_message_id_key" ON "events"("workspace_id", "message_id");

-- CreateIndex
CREATE UNIQUE INDEX "groups_workspace_id_group_id_key" ON "groups"("workspace_id", "group_id");

-- CreateIndex
CREATE INDEX "group_memberships_profile_id_idx" ON "group_memberships"("profile_id");

-- CreateIndex
CREATE INDEX "profile_changes_created_at_idx" ON "profile_changes"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "audiences_workspace_id_key_key" ON "audiences"("workspace_id", "key");

-- CreateIndex
CREATE INDEX "audience_members_profile_id_idx" ON "audience_members"("profile_id");

-- CreateIndex
CREATE INDEX "audience_transitions_audience_id_at_idx" ON "audience_transitions"("audience_id", "at");

-- CreateIndex
CREATE INDEX "audience_transitions_audience_id_profile_id_idx" ON "audience_transitions"("audience_id", "profile_id");

-- CreateIndex
CREATE INDEX "destinations_workspace_id_idx" ON "destinations"("workspace_id");

-- CreateIndex
CREATE INDEX "audience_destinations_destination_id_idx" ON "audience_destinations"("destination_id");

-- CreateIndex
CREATE UNIQUE INDEX "audience_destinations_audience_id_destination_id_key" ON "audience_destinations"("audience_id", "destination_id");

-- CreateIndex
CREATE INDEX "deliveries_destination_id_status_idx" ON "deliveries"("destination_id", "status");

-- CreateIndex
CREATE INDEX "deliveries_status_next_attempt_at_idx" ON "deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "deliveries_destination_id_transition_id_key" ON "deliveries"("destination_id", "transition_id");

-- CreateIndex
CREATE UNIQUE INDEX "suppressions_workspace_id_email_key" ON "suppressions"("workspace_id", "email");

-- AddForeignKey
ALTER TABLE "sources" ADD CONSTRAINT "sources_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identities" ADD CONSTRAINT "identities_profile_id_fkey" FOREIGN KEY ("profile_id") REFERENCES "profiles"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_memberships" ADD CONSTRAINT "group_memberships_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audiences" ADD CONSTRAINT "audiences_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audience_members" ADD CONSTRAINT "audience_members_audience_id_fkey" FOREIGN KEY ("audience_id") REFERENCES "audiences"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audience_transitions" ADD CONSTRAINT "audience_transitions_audience_id_fkey" FOREIGN KEY ("audience_id") REFERENCES "audiences"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "destinations" ADD CONSTRAINT "destinations_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audience_destinations" ADD CONSTRAINT "audience_destinations_audience_id_fkey" FOREIGN KEY ("audience_id") REFERENCES "audiences"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audience_destinations" ADD CONSTRAINT "audience_destinations_destination_id_fkey" FOREIGN KEY ("destination_id") REFERENCES "destinations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_destination_id_fkey" FOREIGN KEY ("destination_id") REFERENCES "destinations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_transition_id_fkey" FOREIGN KEY ("transition_id") REFERENCES "audience_transitions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "suppressions" ADD CONSTRAINT "suppressions_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
