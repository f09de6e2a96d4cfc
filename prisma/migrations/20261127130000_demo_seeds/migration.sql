-- The quick start's demo data is loaded once: this row says it was, so a restart never loads it again
-- (and a start that died half way through the set-up finishes it instead).

-- CreateTable
CREATE TABLE "demo_seeds" (
    "workspace_id" UUID NOT NULL,
    "profiles" INTEGER NOT NULL,
    "events" INTEGER NOT NULL,
    "loaded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "demo_seeds_pkey" PRIMARY KEY ("workspace_id")
);

-- AddForeignKey
ALTER TABLE "demo_seeds" ADD CONSTRAINT "demo_seeds_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
