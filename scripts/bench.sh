#!/bin/sh
# make bench: every figure of the benchmarks, one line each, printed and
# written to $BENCH_OUT (bench-results.txt). A line is
#   NAME VALUE UNIT key=value...
# with the alternative measured in the same run, the ratio (the
# alternative's cost over ours) and the goal where the issue sets one.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (the lab builds its own namespaces)" >&2; exit 1; }
out=$(realpath -m "${BENCH_OUT:-bench-results.txt}")
: > "$out"

# Figures 1-5 in the namespace lab: real ufw, dockerd and an external client.
UFW_DOCKER_BRIDGE_REQUIRE_LAB=1 UFW_DOCKER_BRIDGE_BENCH_OUT="$out" \
	go test -count=1 -timeout 30m -run '^$' -bench . -benchtime 1x ./test/integration

# The figures of address sets and fail2ban, in their own lab (after the
# first, so that the two never share the machine's cores).
UFW_DOCKER_BRIDGE_REQUIRE_LAB=1 UFW_DOCKER_BRIDGE_BENCH_OUT="$out" \
	go test -count=1 -timeout 20m -run '^$' -bench . -benchtime 1x ./test/neighbours

# Figure 6: the pure packages on 10,000 rules, each also as a share of the
# whole sync of 10,000 rules measured above.
sync10k=$(awk '$1 == "scale.sync.rules-10000" { print $2 }' "$out")
go test -count=1 -run '^$' -bench . -benchmem ./internal/plan/ | awk -v sync="${sync10k:-0}" '
	/^Benchmark/ {
		name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		ms = $3 / 1e6
		line = sprintf("micro.%s %.3g ms/op allocs=%s", name, ms, $(NF-1))
		if (sync > 0) line = line sprintf(" share-of-sync-10000=%.1f%%", 100 * ms / sync)
		print "figure: " line
		print line >> "'"$out"'"
	}'
echo "== $out"
cat "$out"
