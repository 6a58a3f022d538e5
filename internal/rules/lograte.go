package rules

import (
	"slices"
	"strconv"
	"strings"
)

// LogRate is the action of the setting for how many dropped connections a
// time our chains log: "log-rate 10/min" or "log-rate off". Without it the
// rate is DefaultLogRate.
const LogRate Action = "log-rate"

// DefaultLogRate is the rate of LOG lines without a log-rate setting.
const DefaultLogRate = "3/min"

// LogOff turns the LOG lines off.
const LogOff = "off"

// logUnits are the units iptables-save prints a limit in.
var logUnits = []string{"sec", "min", "hour", "day"}

// parseLogRate reads "log-rate N/sec|min|hour|day" or "log-rate off".
func parseLogRate(words []string) (Rule, error) {
	const want = "want: log-rate N/sec|min|hour|day (N from 1 to 10000), or log-rate off"
	if len(words) != 2 {
		return Rule{}, syntaxf("%s", want)
	}
	if words[1] == LogOff {
		return Rule{Action: LogRate, Rate: LogOff}, nil
	}
	n, unit, ok := strings.Cut(words[1], "/")
	v, err := strconv.Atoi(n)
	if !ok || err != nil || v < 1 || v > 10000 || strconv.Itoa(v) != n || !slices.Contains(logUnits, unit) {
		return Rule{}, syntaxf("invalid log rate %q; %s", words[1], want)
	}
	return Rule{Action: LogRate, Rate: words[1]}, nil
}

// LogRateOf is the log rate the rules set: the last log-rate setting's, or
// DefaultLogRate; LogOff for none.
func (rs Ruleset) LogRateOf() string {
	rate := DefaultLogRate
	for _, r := range rs {
		if r.Action == LogRate {
			rate = r.Rate
		}
	}
	return rate
}
