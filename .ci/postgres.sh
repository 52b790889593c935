#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1 with a database for the distributed-study tests and
# print its URL. Run as root after `apt-get install postgresql`.
set -euo pipefail
cluster=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1 " " $2}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >/dev/null
  cluster="$version main"
fi
# shellcheck disable=SC2086
pg_ctlcluster $cluster start >/dev/null 2>&1 || true
port=$(pg_lsclusters --no-header | awk 'NR == 1 {print $3}')
for _ in $(seq 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1 -p $port" && break
  sleep 1
done
su postgres -c "psql -q -p $port -c \"DO \\\$\\\$ BEGIN CREATE ROLE charrec LOGIN PASSWORD 'charrec'; EXCEPTION WHEN duplicate_object THEN NULL; END \\\$\\\$;\"" >/dev/null
su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_database WHERE datname = 'charrec_test'\"" | grep -q 1 \
  || su postgres -c "createdb -p $port -O charrec charrec_test"
echo "postgresql://charrec:charrec@127.0.0.1:$port/charrec_test"
