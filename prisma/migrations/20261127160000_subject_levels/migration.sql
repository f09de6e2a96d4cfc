-- Audiences (and, later, computed traits, scores and journeys) are about people or about accounts
-- (the groups of `group` calls). An account audience's members are groups: audience_members and
-- audience_transitions then hold the group's id where a profile audience holds a profile's.

-- CreateEnum
CREATE TYPE "subject_level" AS ENUM ('profile', 'account');

-- AlterTable
ALTER TABLE "audiences" ADD COLUMN "level" "subject_level" NOT NULL DEFAULT 'profile';
