#!/bin/sh
# Rerun the MTA lab (Debian, as root): installs Postfix, Exim and Sendmail one at a time
# from Debian, runs them on loopback only and rewrites sample_data/lab/<mta>/.
# Usage: sudo sh lab/run.sh [--mta postfix|exim|sendmail|all] [--out DIR]
set -eu
cd "$(dirname "$0")/.."
exec python3 -m lab.run "$@"
