#!/usr/bin/env bash
# Usage: run.sh <aether build dir> <consumer project dir>
set -euo pipefail
build=$1
project=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$project" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
"$work/build/consumer" "$work/consumer.db"
"$work/build/consumer_kit"
# The installed `aether` command reads what the consumer stored.
actors=$("$work/prefix/bin/aether" actors --store "sqlite://$work/consumer.db" --json)
echo "aether actors: $actors"
grep -q '"actorId":"consumer-1","latestVersion":1' <<< "$actors"
"$work/prefix/bin/aether" verify --store "sqlite://$work/consumer.db"
