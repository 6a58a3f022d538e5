// Package iptables runs iptables-restore and iptables-save through a Runner,
// and tells which iptables variant (nft or legacy) is in use so that the two
// are never mixed.
package iptables

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// Tables runs iptables-restore/-save for both families through a Runner.
// It uses the commands UFW uses (the system's iptables alternative), so that
// what UFW loads from its files and what we apply live are the same variant.
type Tables struct {
	Runner runner.Runner
}

func command(f rules.Family, tool string) string {
	if f == rules.IPv6 {
		return "ip6tables-" + tool
	}
	return "iptables-" + tool
}

// Restore applies input with iptables-restore --noflush --wait, one atomic
// transaction: a failed restore changes nothing. With test set it only
// checks that the input parses (--test). The error quotes the failing line.
func (t Tables) Restore(ctx context.Context, f rules.Family, input string, test bool) error {
	args := []string{"--noflush", "--wait"}
	if test {
		args = append(args, "--test")
	}
	_, err := t.Runner.Run(ctx, command(f, "restore"), args, []byte(input))
	if err != nil {
		return fmt.Errorf("%w%s", err, quoteFailingLine(err, input))
	}
	return nil
}

// Save returns the live table of family f.
func (t Tables) Save(ctx context.Context, f rules.Family, table string) (*rules.Table, error) {
	out, err := t.Runner.Run(ctx, command(f, "save"), []string{"-t", table}, nil)
	if err != nil {
		return nil, err
	}
	d, err := rules.ParseSave(string(out))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", command(f, "save"), err)
	}
	if tb := d.Table(table); tb != nil {
		return tb, nil
	}
	return &rules.Table{Name: table}, nil
}

// SaveAll returns every table of family f, with packet counters when asked.
func (t Tables) SaveAll(ctx context.Context, f rules.Family, counters bool) (*rules.Dump, error) {
	var args []string
	if counters {
		args = []string{"-c"}
	}
	out, err := t.Runner.Run(ctx, command(f, "save"), args, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the live %s rules: %w", f, err)
	}
	d, err := rules.ParseSave(string(out))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", command(f, "save"), err)
	}
	return d, nil
}

var lineRe = regexp.MustCompile(`line (\d+)`)

// quoteFailingLine adds the input line an iptables-restore error names.
func quoteFailingLine(err error, input string) string {
	var ee *runner.ExecError
	if !errors.As(err, &ee) {
		return ""
	}
	m := lineRe.FindStringSubmatch(ee.Stderr)
	if m == nil {
		return ""
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(input, "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return fmt.Sprintf(" (input line %d: %q)", n, lines[n-1])
}

// Variant is "nf_tables" or "legacy", as `iptables --version` prints it.
type Variant string

// Variants of iptables.
const (
	NFT    Variant = "nf_tables"
	Legacy Variant = "legacy"
)

// DetectVariant returns the variant behind the system's iptables command.
func (t Tables) DetectVariant(ctx context.Context) (Variant, error) {
	out, err := t.Runner.Run(ctx, "iptables", []string{"--version"}, nil)
	if err != nil {
		return "", fmt.Errorf("detecting the iptables variant: %w", err)
	}
	s := string(out)
	switch {
	case strings.Contains(s, "(nf_tables)"):
		return NFT, nil
	case strings.Contains(s, "(legacy)"):
		return Legacy, nil
	}
	return "", fmt.Errorf("detecting the iptables variant: unknown version %q", strings.TrimSpace(s))
}

// CheckNotMixed fails when Docker's chains live only in the other variant:
// rules applied through ours would then never see Docker's traffic.
func (t Tables) CheckNotMixed(ctx context.Context) (Variant, error) {
	v, err := t.DetectVariant(ctx)
	if err != nil {
		return "", err
	}
	other := "iptables-legacy-save"
	if v == Legacy {
		other = "iptables-nft-save"
	}
	// Without -t: iptables-legacy-save lists the tables that exist, while
	// "-t filter" would create a legacy filter table in the kernel (and with
	// it iptables-nft's "legacy tables present" warning on every later save).
	out, err := t.Runner.Run(ctx, other, nil, nil)
	if err != nil {
		return v, nil // the other variant is not installed or not usable: nothing to mix
	}
	if strings.Contains(string(out), ":"+rules.ChainDockerUser+" ") {
		ours, err := t.Save(ctx, rules.IPv4, "filter")
		if err != nil {
			return v, err
		}
		if ours.Chain(rules.ChainDockerUser) == nil {
			return v, fmt.Errorf("docker uses the other iptables variant (%s) than the system's iptables (%s): switch both to one with update-alternatives", other, v)
		}
	}
	return v, nil
}
