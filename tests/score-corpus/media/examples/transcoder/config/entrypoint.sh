#!/bin/sh
# Runs before the transcoder: prepares the scratch space. Shell variables are expanded by the
# shell at run time, not by the platform (the file is mounted with noExpand).
set -eu
WORK="${HOME}/work"
mkdir -p "${WORK}" "${SCRATCH_DIR:-/scratch}/segments"
echo "transcoder starting as $(id -un) in ${WORK}"
exec "$@"
