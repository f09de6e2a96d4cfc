#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis when they are not answering (machines without Docker).
set -euo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$( (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3) 2>/dev/null)" = "+PONG" ]; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  else
    echo "PostgreSQL is not running on 127.0.0.1:5432 and cannot be started here; start it or set DATABASE_URL" >&2
  fi
fi
if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  else
    echo "Redis is not running on 127.0.0.1:6379 and cannot be started here; start it or set REDIS_URL" >&2
  fi
fi

for _ in $(seq 1 100); do
  if pg_up && redis_up; then exit 0; fi
  sleep 0.2
done
pg_up || echo "PostgreSQL did not come up" >&2
redis_up || echo "Redis did not come up" >&2
exit 1
