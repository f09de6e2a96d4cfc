-- Real-time evaluation takes changed profiles from the outbox in batches per workspace, live
-- traffic before bulk imports, and leases what it took: a row is deleted only once its profile
-- has been evaluated, and a row whose lease ran out (its worker died) is taken again.

-- CreateEnum
CREATE TYPE "change_lane" AS ENUM ('live', 'bulk');

-- AlterTable
ALTER TABLE "profile_changes" ADD COLUMN "lane" "change_lane" NOT NULL DEFAULT 'live',
ADD COLUMN "claimed_until" TIMESTAMPTZ(3);

-- The claim reads one workspace's lane in id order; the relay lists workspaces with pending rows.
-- DropIndex
DROP INDEX "profile_changes_created_at_idx";

-- CreateIndex
CREATE INDEX "profile_changes_workspace_id_lane_id_idx" ON "profile_changes"("workspace_id", "lane", "id");
