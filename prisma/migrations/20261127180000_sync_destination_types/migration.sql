-- Destinations that sync audiences to other tools: `segment` (Segment-spec identify + track
-- through /v1/batch, for Segment, Customer.io, RudderStack, Personae itself…) and `slack`
-- (an incoming webhook posting one line per transition).

-- AlterEnum
ALTER TYPE "destination_type" ADD VALUE 'segment';
ALTER TYPE "destination_type" ADD VALUE 'slack';
