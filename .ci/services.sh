#!/usr/bin/env bash
# Makes sure PostgreSQL, MariaDB and Redis answer on 127.0.0.1, starting
# whichever does not, waiting up to 30s for each, and creating the `test`
# databases the store tests use. Sourced, it also exports the variables
# that switch the store tests on (values already set are kept):
#
#   source .ci/services.sh   # start, wait, export
#   .ci/services.sh          # start and wait only
#
# Expects Debian's packages (postgresql, mariadb-server, redis-server) and
# root, as in CI.

_svc_fail() {
  echo "services: $*" >&2
  return 1
}

# _svc_wait NAME CHECK...: runs CHECK until it succeeds, for up to 30s.
_svc_wait() {
  local name=$1 i
  shift
  for i in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then
      echo "services: $name answers"
      return 0
    fi
    sleep 0.5
  done
  _svc_fail "$name did not answer within 30s"
}

_svc_pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
_svc_mariadb_ready() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; }
_svc_redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

_svc_postgres() {
  if ! _svc_pg_ready; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    [ -n "$version" ] || _svc_fail "no PostgreSQL cluster in /etc/postgresql" || return 1
    echo "services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
  fi
  _svc_wait PostgreSQL _svc_pg_ready || return 1
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
    createdb -h 127.0.0.1 -U postgres test || return 1
  fi
}

_svc_mariadb() {
  if ! _svc_mariadb_ready; then
    echo "services: starting MariaDB"
    # /run is emptied at boot; mariadbd keeps its socket and pid there.
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || return 1
  fi
  _svc_wait MariaDB _svc_mariadb_ready || return 1
  mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' || return 1
}

_svc_redis() {
  if ! _svc_redis_ready; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || return 1
  fi
  _svc_wait Redis _svc_redis_ready
}

_svc_main() {
  _svc_postgres && _svc_mariadb && _svc_redis
}

if _svc_main; then
  _svc_status=0
else
  _svc_status=1
fi
unset -f _svc_fail _svc_wait _svc_pg_ready _svc_mariadb_ready _svc_redis_ready \
  _svc_postgres _svc_mariadb _svc_redis _svc_main

if [ "$_svc_status" -eq 0 ]; then
  export OAUTH2_TEST_POSTGRES_URL="${OAUTH2_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
  export OAUTH2_TEST_MYSQL_DSN="${OAUTH2_TEST_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/test}"
  export OAUTH2_TEST_REDIS_URL="${OAUTH2_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
fi

# Sourced: return the status to the caller; run: exit with it.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return "$_svc_status"
fi
exit "$_svc_status"
