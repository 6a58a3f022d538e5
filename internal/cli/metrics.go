package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/engine"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/metrics"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/nft"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/watch"
)

// DefaultMetricsFile is where the watcher writes its metrics for
// node_exporter's textfile collector (Debian's prometheus-node-exporter
// reads that directory), when the directory exists.
const DefaultMetricsFile = "/var/lib/prometheus/node-exporter/ufw-docker-bridge.prom"

// measured wraps the watcher's pass: each pass is counted, what it
// repaired by cause, and the file (when not "") written again. The live
// part (counters, ports, sets) is not read here but by refreshMetrics and
// the listener: a pass is what a clobber waits for, and the next one must
// not wait for our reading. With liveToo, the file waits for the first
// live reading: a file without it would say that nothing is published.
func measured(e *engine.Engine, rec *metrics.Recorder, file string, liveToo bool, log *slog.Logger) watch.Pass {
	return func(ctx context.Context) ([]string, error) {
		start := time.Now()
		repaired, err := e.Sync(ctx)
		rec.Observe(start, time.Since(start), repaired, err)
		if !liveToo || rec.LiveRead() {
			writeMetrics(file, rec, log)
		}
		return repaired, err
	}
}

// refreshMetrics reads the live part of the metrics and writes the file at
// once and then every interval, until ctx ends: a blocked connection moves
// a counter without any pass.
func refreshMetrics(ctx context.Context, deps Deps, e *engine.Engine, rec *metrics.Recorder, file string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rec.SetLive(*liveMetrics(ctx, deps, e))
		writeMetrics(file, rec, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func writeMetrics(file string, rec *metrics.Recorder, log *slog.Logger) {
	if file == "" {
		return
	}
	// The textfile directory's parent is the prometheus user's: no link
	// there is followed.
	if err := atomicfile.WriteNoFollow(file, []byte(rec.Text()), 0o644); err != nil {
		log.Warn("writing the metrics failed", "file", file, "err", err)
	}
}

var commentRe = regexp.MustCompile(`-m comment --comment ("[^"]*"|\S+)`)

// liveMetrics reads what the metrics say of the live state: the rules, the
// sets' sizes and our chains' counters. What cannot be read is left out.
func liveMetrics(ctx context.Context, deps Deps, e *engine.Engine) *metrics.Live {
	live := &metrics.Live{Rules: map[string]int{}, Sets: map[string]int{}}
	if rs, err := e.Store.Load(); err == nil {
		for _, r := range rs {
			live.Rules[string(r.Action)]++
		}
	}
	if names, err := e.Store.SetNames(); err == nil {
		for _, n := range names {
			if entries, ok, err := e.Store.LoadSet(n); err == nil && ok {
				live.Sets[n] = len(entries)
			}
		}
	}
	// This runs beside the passes: it resolves the rules without writing
	// anything of the engine's, and the notes are the passes' to say.
	resolve := func(ctx context.Context, rs rules.Ruleset) (rules.Ruleset, []string) {
		out, labels, _ := e.Resolve(ctx, rs)
		return out, labels
	}
	if ps, _, err := ports(ctx, deps, e.Store, resolve); err == nil {
		live.Published = map[string]int{}
		for _, p := range ps {
			live.Published[exposureKind(p.OpenTo)]++
		}
	}
	if drops, err := (nft.Guard{Runner: deps.Runner}).Drops(ctx); err == nil {
		live.GuardDrops = drops
	}
	for _, f := range readable(deps) {
		d, err := (iptables.Tables{Runner: deps.Runner}).SaveAll(ctx, f, true)
		if err != nil {
			continue
		}
		for _, t := range d.Tables {
			if t.Name != "filter" {
				continue
			}
			for _, c := range t.Chains {
				if !slices.Contains(rules.OwnedChains, c.Name) {
					continue
				}
				for i, r := range c.Rules {
					rc := metrics.RuleCounter{Family: f.String(), Chain: c.Name, Rule: r}
					if m := commentRe.FindStringSubmatch(r); m != nil {
						rc.Comment = strings.Trim(m[1], `"`)
					}
					if i < len(c.Counters) {
						rc.Packets = packets(c.Counters[i])
					}
					live.Counters = append(live.Counters, rc)
				}
			}
		}
	}
	return live
}

// exposureKind sorts status --ports' "open to" into a few label values:
// everyone, closed, local, sources (some sources only), not-installed.
func exposureKind(openTo string) string {
	switch {
	case openTo == plan.OpenClosed:
		return "closed"
	case openTo == plan.OpenLocal:
		return "local"
	case openTo == plan.OpenNoPolicy:
		return "not-installed"
	case strings.HasPrefix(openTo, plan.OpenEveryone):
		return "everyone"
	}
	return "sources"
}

// packets reads the packets of an iptables-save -c counter "p:b".
func packets(counter string) uint64 {
	p, _, _ := strings.Cut(counter, ":")
	var n uint64
	for _, ch := range p {
		if ch < '0' || ch > '9' {
			return 0
		}
		n = n*10 + uint64(ch-'0')
	}
	return n
}

// metricsFile is the file the watcher writes: the flag's, or the default
// when its directory exists (node_exporter is installed); "" for none.
func metricsFile(flag string, set bool) string {
	if set {
		return flag
	}
	if st, err := os.Stat(filepath.Dir(DefaultMetricsFile)); err == nil && st.IsDir() {
		return DefaultMetricsFile
	}
	return ""
}

// Bounds of the metrics listener: a scrape lists every rule, source and
// comment, and reads the live tables, so neither many scrapers nor slow or
// idle connections may make it cost more than one reading at a time.
const (
	// scrapeGap: a scrape within this long of the last live reading is
	// answered from that reading.
	scrapeGap = time.Second
	// scrapeConns is the most connections served at once; more wait.
	scrapeConns = 8
)

// serveMetrics answers GET /metrics on l with the recorder's text, its live
// part read afresh (scrapes), until ctx ends.
func serveMetrics(ctx context.Context, l net.Listener, deps Deps, e *engine.Engine, rec *metrics.Recorder, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", &scrapes{rec: rec, read: func(ctx context.Context) { rec.SetLive(*liveMetrics(ctx, deps, e)) }})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(limitListener(l, scrapeConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("the metrics listener stopped", "addr", l.Addr(), "err", err)
		}
	}()
}

// scrapes answers /metrics: one live reading at a time, none closer than
// scrapeGap to the last; a scrape that comes meanwhile gets the last one.
type scrapes struct {
	rec  *metrics.Recorder
	read func(ctx context.Context)
	mu   sync.Mutex // held while reading; guards last
	last time.Time
}

func (s *scrapes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.mu.TryLock() {
		if time.Since(s.last) >= scrapeGap {
			s.read(r.Context())
			s.last = time.Now()
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(s.rec.Text()))
}

// limitListener accepts at most n connections at once from l: the next
// Accept waits until one of them is closed.
func limitListener(l net.Listener, n int) net.Listener {
	return &limited{Listener: l, slots: make(chan struct{}, n)}
}

type limited struct {
	net.Listener
	slots chan struct{}
}

func (l *limited) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, free: func() { <-l.slots }}, nil
}

// slotConn gives its slot back once, when it is closed.
type slotConn struct {
	net.Conn
	once sync.Once
	free func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.free)
	return err
}
