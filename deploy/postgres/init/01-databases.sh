#!/bin/bash
# One database and one role per service: no service can read another's tables.
set -euo pipefail
for svc in intake routing supervision reporting; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE $svc LOGIN PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE $svc OWNER $svc;
SQL
done
