#!/usr/bin/env bash
# Turns `go test -v` output of the story test into the demo's report: each
# step, its reachability matrix and measurements; the test's verdict last.
set -uo pipefail
status=0
while IFS= read -r line; do
	case "$line" in
	"=== RUN   TestUFWStory/"*) printf '\n== %s\n' "$(echo "${line#*TestUFWStory/}" | tr _ ' ')" ;;
	*"_test.go:"*) echo "  ${line#*_test.go:*: }" ;;
	"        "*) echo "  ${line#        }" ;;
	"--- FAIL"* | "FAIL"*) echo "$line"; status=1 ;;
	"--- PASS: TestUFWStory "* | "ok "* | "lab: "*) echo "$line" ;;
	esac
done
exit $status
