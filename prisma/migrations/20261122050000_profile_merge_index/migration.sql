-- A merge repoints every profile that was merged into the loser (merge chains are flattened onto
-- the new survivor); without this index that lookup scanned the workspace's profiles.

-- CreateIndex
CREATE INDEX "profiles_merged_into_id_idx" ON "profiles"("merged_into_id");
