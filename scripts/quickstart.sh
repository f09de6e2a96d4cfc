#!/usr/bin/env bash
# `npm run quickstart`: install, start local services if needed, build, migrate and run Personae
# (API + worker) in the foreground with a seeded Demo workspace. Safe to run again: every step is
# skipped when what it would produce is current, so a second start takes seconds, not minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Personae needs Node.js 20.19 or newer"); process.exit(1) }'

if [ ! -f .env ]; then
  admin_token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')
  cat > .env <<ENV
# Written by the quick start; edit freely. Real deployments set these in the environment.
DATABASE_URL=postgresql://postgres@127.0.0.1:5432/personae
REDIS_URL=redis://127.0.0.1:6379
ADMIN_TOKEN=${admin_token}
PORT=3000
ENV
  echo "quickstart: wrote .env with a new ADMIN_TOKEN"
fi
# Values already in the environment win over .env, as they do for the service itself.
while IFS='=' read -r key value; do
  case "$key" in '' | \#*) continue ;; esac
  if [ -z "${!key:-}" ]; then export "$key=$value"; fi
done < .env

# Dependencies: only when the lock file changed since the last install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "quickstart: installing dependencies"
  npm ci --no-audit --no-fund
fi

bash scripts/ensure-services.sh
node scripts/ensure-database.cjs

# Build: only when a source, the TypeScript settings, the schema or the lock file changed since
# the last build. The stamp takes the time the build started, so an edit made during it still counts.
stamp=dist/.quickstart-build
if [ ! -f dist/main.js ] || [ ! -f "$stamp" ] ||
  [ -n "$(find src prisma/schema.prisma tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -print -quit)" ]; then
  echo "quickstart: building"
  started=$(mktemp)
  npm run --silent build
  mv "$started" "$stamp"
fi

# Migrations: the compiled migrator applies only what is pending (no TypeScript to compile first).
node dist/database/migrate.command.js

# Destinations may reach this machine only (a local mail sink such as Mailpit), unless .env says otherwise.
export DESTINATION_ALLOWED_NETWORKS="${DESTINATION_ALLOWED_NETWORKS:-127.0.0.0/8,::1/128}"
PERSONAE_DEMO=1 exec node --max-semi-space-size=64 dist/main.js
