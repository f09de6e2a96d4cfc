# syntax=docker/dockerfile:1
# One image, two roles: ROLE=api (HTTP), ROLE=worker (BullMQ processors and schedulers), or ROLE=all.
# Migrations run as a one-shot container: `node dist/database/migrate.command.js`.

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only. Install scripts are skipped: none of the runtime packages needs one
# (msgpackr's native addon ships prebuilt), and @scarf/scarf's is telemetry.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Full install and compile. `postinstall` generates the Prisma client into src/generated, so the
# schema, prisma.config.ts and the generate script must be in place before `npm ci`.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 \
    SCARF_ANALYTICS=false
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ROLE=all \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Owned by root and read-only to the app user: the process never needs to write to its own files.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The migrator reads these at run time (dist/database/../../prisma/migrations).
COPY prisma/migrations ./prisma/migrations
USER node
EXPOSE 3000
# A larger young generation: fewer collections on the ingest path (see README, Throughput).
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
