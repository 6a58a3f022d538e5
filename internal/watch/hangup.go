package watch

import (
	"context"
	"log/slog"
	"os"
)

// Hangup triggers a pass on every signal that arrives on C: the caller
// subscribes C to SIGHUP (systemctl reload) before anything else starts, so
// that an early SIGHUP cannot end the process, which is what SIGHUP does
// by default. A pass reads the rules, the settings and the installed record
// afresh: that is the daemon's whole configuration.
type Hangup struct {
	C   <-chan os.Signal
	Log *slog.Logger
}

// Name names the source in the log.
func (Hangup) Name() string { return "sighup" }

// Run triggers a pass per signal until ctx ends.
func (h Hangup) Run(ctx context.Context, trigger func()) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-h.C:
			h.Log.Info("reload requested: reading the rules and settings again, one pass", "signal", s.String())
			trigger()
		}
	}
}
