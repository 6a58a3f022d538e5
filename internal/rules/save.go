package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Dump is an iptables-save/restore text as data: tables in order, each with
// its chains in order. The same model serves the live ruleset, the UFW files,
// the rendered plan and the tests.
type Dump struct {
	Tables []*Table
}

// Table is one "*name ... COMMIT" section.
type Table struct {
	Name   string
	Chains []*Chain
}

// Chain is a chain as declared (":NAME POLICY [p:b]") with its rules, each
// held without the leading "-A NAME ".
type Chain struct {
	Name string
	// Policy is ACCEPT/DROP for built-in chains and "-" for user chains.
	Policy string
	Rules  []string
	// Counters holds "packets:bytes" for each rule when the text had them
	// (iptables-save -c), else nil.
	Counters []string
	// Declared reports whether the text declared the chain (a restore
	// flushes declared user chains); rules may also name undeclared chains.
	Declared bool
}

// Table returns the first table with that name, or nil.
func (d *Dump) Table(name string) *Table {
	for _, t := range d.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Chain returns the chain with that name, or nil.
func (t *Table) Chain(name string) *Chain {
	if t == nil {
		return nil
	}
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ensure returns the chain with that name, adding an undeclared one if needed.
func (t *Table) ensure(name string) *Chain {
	if c := t.Chain(name); c != nil {
		return c
	}
	c := &Chain{Name: name, Policy: "-"}
	t.Chains = append(t.Chains, c)
	return c
}

// order puts the declared chains first, in the order of their declarations,
// then the rest in the order they appeared: the order String prints them in.
func (t *Table) order() {
	sort.SliceStable(t.Chains, func(i, j int) bool { return t.Chains[i].Declared && !t.Chains[j].Declared })
}

func (t *Table) remove(name string) {
	for i, c := range t.Chains {
		if c.Name == name {
			t.Chains = append(t.Chains[:i], t.Chains[i+1:]...)
			return
		}
	}
}

// deletable says why chain name cannot be deleted: it holds rules, or a
// rule jumps to it.
func (t *Table) deletable(name string) error {
	if c := t.Chain(name); len(c.Rules) > 0 {
		return fmt.Errorf("chain %s holds %d rules", name, len(c.Rules))
	}
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if strings.HasSuffix(r, " -j "+name) || r == "-j "+name {
				return fmt.Errorf("chain %s is jumped to from %s", name, c.Name)
			}
		}
	}
	return nil
}

// edit applies "-I CHAIN [N] RULE", "-D CHAIN RULE" or "-D CHAIN N" to the
// model, as iptables-restore would: deleting a rule that is not there is an
// error.
func (t *Table) edit(line string) error {
	name, rule, _ := strings.Cut(line[3:], " ")
	rule = strings.TrimSpace(rule)
	c := t.Chain(name)
	if c == nil {
		return fmt.Errorf("%q names an unknown chain", line)
	}
	if rule == "" {
		return fmt.Errorf("%q is not a rule", line)
	}
	c.Counters = nil // counters describe a save, not an edited chain
	if line[1] == 'D' {
		if num, err := strconv.Atoi(rule); err == nil {
			if num < 1 || num > len(c.Rules) {
				return fmt.Errorf("%q: no rule %d", line, num)
			}
			c.Rules = append(c.Rules[:num-1], c.Rules[num:]...)
			return nil
		}
		for i, r := range c.Rules {
			if r == rule {
				c.Rules = append(c.Rules[:i], c.Rules[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%q: no such rule", line)
	}
	pos := 1
	if num, rest, ok := strings.Cut(rule, " "); ok {
		if p, err := strconv.Atoi(num); err == nil {
			pos, rule = p, rest
		}
	}
	if rule == "" || pos < 1 || pos > len(c.Rules)+1 {
		return fmt.Errorf("%q: no position %d", line, pos)
	}
	c.Rules = append(c.Rules[:pos-1], append([]string{rule}, c.Rules[pos-1:]...)...)
	return nil
}

// ParseSave reads iptables-save output or an iptables-restore input (such as
// a UFW rules file). Comments and blank lines are skipped; "-A" lines are
// kept as written; "-N" of a new chain makes it; "-I"/"-D"/"-F"/"-X" of a
// chain the text knows insert, delete, flush or delete the chain in the
// model, as a restore would; any
// other line is an error naming its number.
func ParseSave(text string) (*Dump, error) {
	d := &Dump{}
	var cur *Table
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "*"):
			if cur != nil {
				return nil, fmt.Errorf("line %d: table %q opened before %q was committed", n, line[1:], cur.Name)
			}
			cur = &Table{Name: line[1:]}
		case line == "COMMIT":
			if cur == nil {
				return nil, fmt.Errorf("line %d: COMMIT outside a table", n)
			}
			cur.order()
			d.Tables = append(d.Tables, cur)
			cur = nil
		case cur == nil:
			return nil, fmt.Errorf("line %d: %q outside a table", n, line)
		case strings.HasPrefix(line, ":"):
			f := strings.Fields(line[1:])
			if len(f) < 2 {
				return nil, fmt.Errorf("line %d: bad chain declaration %q", n, line)
			}
			c := cur.ensure(f[0])
			c.Policy, c.Declared = f[1], true
		case strings.HasPrefix(line, "-A ") || (strings.HasPrefix(line, "[") && strings.Contains(line, "] -A ")):
			counters := ""
			if line[0] == '[' {
				counters, line, _ = strings.Cut(line[1:], "] ")
			}
			name, rule, _ := strings.Cut(line[3:], " ")
			if name == "" || strings.TrimSpace(rule) == "" {
				return nil, fmt.Errorf("line %d: %q is not a rule", n, line)
			}
			c := cur.ensure(name)
			if counters != "" || c.Counters != nil {
				for len(c.Counters) < len(c.Rules) {
					c.Counters = append(c.Counters, "")
				}
				c.Counters = append(c.Counters, counters)
			}
			c.Rules = append(c.Rules, strings.TrimSpace(rule))
		case strings.HasPrefix(line, "-I ") || strings.HasPrefix(line, "-D "):
			if err := cur.edit(line); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		case strings.HasPrefix(line, "-N "):
			f := strings.Fields(line[3:])
			if len(f) != 1 {
				return nil, fmt.Errorf("line %d: %q: want -N CHAIN", n, line)
			}
			name := f[0]
			if cur.Chain(name) != nil {
				return nil, fmt.Errorf("line %d: %q: the chain exists", n, line)
			}
			c := cur.ensure(name)
			c.Policy, c.Declared = "-", true
		case strings.HasPrefix(line, "-F ") || strings.HasPrefix(line, "-X "):
			name := strings.TrimSpace(line[3:])
			c := cur.Chain(name)
			if c == nil {
				return nil, fmt.Errorf("line %d: %q names an unknown chain", n, line)
			}
			if line[1] == 'X' {
				// As iptables: a chain with rules, or one a rule jumps to,
				// is busy.
				if err := cur.deletable(name); err != nil {
					return nil, fmt.Errorf("line %d: %q: %w", n, line, err)
				}
				cur.remove(name)
			}
			c.Rules, c.Counters = nil, nil
		default:
			return nil, fmt.Errorf("line %d: unsupported line %q", n, line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("table %q is not committed", cur.Name)
	}
	return d, nil
}

// String prints the dump as iptables-restore input: declared chains first,
// then every rule, then COMMIT, table by table.
func (d *Dump) String() string {
	var b strings.Builder
	for _, t := range d.Tables {
		b.WriteString(t.String())
	}
	return b.String()
}

// String prints one table as iptables-restore input.
func (t *Table) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s\n", t.Name)
	for _, c := range t.Chains {
		if c.Declared {
			fmt.Fprintf(&b, ":%s %s [0:0]\n", c.Name, c.Policy)
		}
	}
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "-A %s %s\n", c.Name, r)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// Words splits an iptables rule into its words as iptables reads them: a
// quoted value ("[UFW BLOCK] ", a comment) is one word, without its quotes.
// Every reader of rule text uses it, so that a quoted value never passes
// for flags.
func Words(rule string) []string {
	var out []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, c := range rule {
		switch {
		case c == '"':
			quoted, inWord = !quoted, true
		case c == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// Arg returns the word after flag in the words of a rule ("-j" -> the
// target), or "" when the flag is not there.
func Arg(words []string, flag string) string {
	for i := 0; i+1 < len(words); i++ {
		if words[i] == flag {
			return words[i+1]
		}
	}
	return ""
}

// Apply returns live with an iptables-restore --noflush input of its table
// applied, as the kernel would apply it: a chain the input declares is
// flushed and filled from it, the others keep their rules and take the
// input's -A, -I and -D lines. It is the model of the kernel the tests'
// fakes share.
func Apply(live *Table, input string) (*Table, error) {
	var b strings.Builder
	b.WriteString("*" + live.Name + "\n")
	for _, c := range live.Chains {
		if !strings.Contains(input, "\n:"+c.Name+" ") {
			fmt.Fprintf(&b, ":%s %s [0:0]\n", c.Name, c.Policy)
			for _, r := range c.Rules {
				fmt.Fprintf(&b, "-A %s %s\n", c.Name, r)
			}
		}
	}
	b.WriteString(strings.TrimPrefix(input, "*"+live.Name+"\n"))
	d, err := ParseSave(b.String())
	if err != nil {
		return nil, fmt.Errorf("applying restore input: %w", err)
	}
	if t := d.Table(live.Name); t != nil {
		return t, nil
	}
	return &Table{Name: live.Name}, nil
}
