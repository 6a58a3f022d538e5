package nft

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Forwards reads the DNATs of our NAT table's prerouting chain, as they are
// live (explain walks them): one a rule in order, and a rule it cannot read
// (an edit by hand) as a zero Forward with its place said in unread.
func (n NAT) Forwards(ctx context.Context) (fs []plan.Forward, unread []string, err error) {
	out, err := n.Runner.Run(ctx, "nft", []string{"-j", "list", "chain", "inet", rules.NATTable, "prerouting"}, nil)
	if err != nil {
		if strings.Contains(err.Error(), "No such file or directory") {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("reading table inet %s: %w", rules.NATTable, err)
	}
	return ParseForwards(out)
}

// nftJSON is the part of `nft -j list chain` a forward's rule needs.
type nftJSON struct {
	Nftables []struct {
		Rule *struct {
			Comment string            `json:"comment"`
			Expr    []json.RawMessage `json:"expr"`
		} `json:"rule"`
	} `json:"nftables"`
}

// exprJSON is one expression of a rule: a match or a dnat.
type exprJSON struct {
	Match *struct {
		Op    string          `json:"op"`
		Left  json.RawMessage `json:"left"`
		Right json.RawMessage `json:"right"`
	} `json:"match"`
	DNAT *struct {
		Addr string `json:"addr"`
		Port uint16 `json:"port"`
	} `json:"dnat"`
}

// leftJSON is what a match compares: a payload field, a meta key or fib.
type leftJSON struct {
	Payload *struct{ Protocol, Field string } `json:"payload"`
	Meta    *struct{ Key string }             `json:"meta"`
	Fib     json.RawMessage                   `json:"fib"`
}

// ParseForwards reads `nft -j list chain` output of our prerouting chain.
func ParseForwards(data []byte) (fs []plan.Forward, unread []string, err error) {
	var doc nftJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading table inet %s: %w", rules.NATTable, err)
	}
	for _, item := range doc.Nftables {
		if item.Rule == nil {
			continue
		}
		f, ok := parseForward(item.Rule.Expr)
		if !ok {
			unread = append(unread, fmt.Sprintf("inet %s prerouting #%d: a rule not of ours", rules.NATTable, len(fs)+1))
			f = plan.Forward{}
		}
		f.Comment = item.Rule.Comment
		fs = append(fs, f)
	}
	return fs, unread, nil
}

// parseForward reads one rule as plan.Forward.nft writes it; ok is false
// for any other shape.
func parseForward(exprs []json.RawMessage) (f plan.Forward, ok bool) {
	for _, raw := range exprs {
		var e exprJSON
		if json.Unmarshal(raw, &e) != nil {
			return f, false
		}
		switch {
		case e.DNAT != nil:
			a, err := netip.ParseAddr(e.DNAT.Addr)
			if err != nil || e.DNAT.Port == 0 {
				return f, false
			}
			f.Dest, f.ToPort = a, e.DNAT.Port
		case e.Match != nil && e.Match.Op == "==":
			var l leftJSON
			if json.Unmarshal(e.Match.Left, &l) != nil || !takeMatch(&f, l, e.Match.Right) {
				return f, false
			}
		default:
			return f, false
		}
	}
	return f, f.Dest.IsValid() && f.Port != 0 && f.Proto != ""
}

// takeMatch takes one match of a forward's rule into f: the family, the
// source, "the address is the host's", the protocol and the port.
func takeMatch(f *plan.Forward, l leftJSON, right json.RawMessage) bool {
	var word string
	var number uint16
	isWord, isNumber := json.Unmarshal(right, &word) == nil, json.Unmarshal(right, &number) == nil
	switch {
	case l.Fib != nil:
		return isWord && word == "local"
	case l.Meta != nil && l.Meta.Key == "nfproto":
		return isWord && (word == "ipv4" || word == "ipv6")
	case l.Meta != nil && l.Meta.Key == "l4proto":
		var set struct{ Set []string }
		switch {
		case isWord && (word == "tcp" || word == "udp"):
			f.Proto = word
		case json.Unmarshal(right, &set) == nil && len(set.Set) == 2 && set.Set[0] == "tcp" && set.Set[1] == "udp":
			f.Proto = "{ tcp, udp }"
		default:
			return false
		}
		return true
	case l.Payload == nil:
		return false
	case l.Payload.Field == "saddr" && (l.Payload.Protocol == "ip" || l.Payload.Protocol == "ip6"):
		var pre struct {
			Prefix struct {
				Addr string
				Len  int
			}
		}
		if isWord {
			a, err := netip.ParseAddr(word)
			f.Source = netip.PrefixFrom(a, a.BitLen())
			return err == nil
		}
		if json.Unmarshal(right, &pre) != nil {
			return false
		}
		a, err := netip.ParseAddr(pre.Prefix.Addr)
		f.Source = netip.PrefixFrom(a, pre.Prefix.Len)
		return err == nil && f.Source.IsValid()
	case l.Payload.Field == "dport" && isNumber && number != 0:
		switch l.Payload.Protocol {
		case "tcp", "udp":
			f.Proto = l.Payload.Protocol
		case "th":
		default:
			return false
		}
		f.Port = number
		return true
	}
	return false
}
