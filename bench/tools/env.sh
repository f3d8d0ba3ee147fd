# What bench/tools/run.sh and bench/tools/polling.sh share, sourced from the repository's root
# with WORK_NAME set: the library's sizes (TRACKS, MOVIES, SHOWS, SEED), a work directory
# (WORK, else a new /tmp/WORK_NAME.XXXXXX), cachearr (CACHEARR, else a release build), and the
# Python environment with the client libraries (PY).
ROOT=$(pwd)
export ROOT TRACKS=${TRACKS:-5000} MOVIES=${MOVIES:-200} SHOWS=${SHOWS:-30} SEED=${SEED:-4}
export WORK=${WORK:-$(mktemp -d "/tmp/$WORK_NAME.XXXXXX")}
if [ -z "${CACHEARR:-}" ]; then
  echo "==> building cachearr (release)" >&2
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
export CACHEARR
PY=${PY:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "no $PY: run scripts/setup-test-env" >&2; exit 1; }
