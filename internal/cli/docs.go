package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// Man returns the manual page, section 8, generated from the command
// definitions.
func Man() (string, error) {
	return newApp(io.Discard, io.Discard, Deps{}).ToManWithSection(8)
}

// completionWords returns the commands, and for "" the global flags, and
// for each command its flags, all generated from the command definitions.
func completionWords() (commands []*cli.Command, flags map[string][]string) {
	app := newApp(io.Discard, io.Discard, Deps{})
	flags = map[string][]string{"": flagNames(app.Flags)}
	flags[""] = append(flags[""], "--help", "--version")
	for _, c := range app.Commands {
		flags[c.Name] = append(flagNames(c.Flags), "--help")
	}
	return app.Commands, flags
}

func flagNames(fs []cli.Flag) []string {
	var out []string
	for _, f := range fs {
		for _, n := range f.Names() {
			if len(n) == 1 {
				out = append(out, "-"+n)
			} else {
				out = append(out, "--"+n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// BashCompletion returns a bash completion script for the commands and
// their flags.
func BashCompletion() string {
	commands, flags := completionWords()
	var names []string
	var b strings.Builder
	fmt.Fprintf(&b, "# bash completion for %s, generated from its command definitions\n", Name)
	fmt.Fprintf(&b, "_ufw_docker_bridge() {\n")
	fmt.Fprintf(&b, "\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"\" i\n")
	fmt.Fprintf(&b, "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	fmt.Fprintf(&b, "\t\tcase \"${COMP_WORDS[i]}\" in -*) ;; *) cmd=\"${COMP_WORDS[i]}\"; break ;; esac\n")
	fmt.Fprintf(&b, "\tdone\n\tlocal words\n\tcase \"$cmd\" in\n")
	for _, c := range commands {
		names = append(names, c.Name)
		fmt.Fprintf(&b, "\t%s) words=%q ;;\n", c.Name, strings.Join(flags[c.Name], " "))
	}
	fmt.Fprintf(&b, "\t*) words=%q ;;\n", strings.Join(append(names, flags[""]...), " "))
	fmt.Fprintf(&b, "\tesac\n\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\n")
	fmt.Fprintf(&b, "complete -F _ufw_docker_bridge %s\n", Name)
	return b.String()
}

// ZshCompletion returns a zsh completion function for the commands and
// their flags.
func ZshCompletion() string {
	commands, flags := completionWords()
	var b strings.Builder
	fmt.Fprintf(&b, "#compdef %s\n# zsh completion for %s, generated from its command definitions\n", Name, Name)
	fmt.Fprintf(&b, "local -a commands\ncommands=(\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "\t%s\n", zshQuote(c.Name+":"+c.Usage))
	}
	fmt.Fprintf(&b, ")\nif (( CURRENT == 2 )); then\n\t_describe command commands\n\tcompadd -- %s\n\treturn\nfi\n", strings.Join(flags[""], " "))
	fmt.Fprintf(&b, "case $words[2] in\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "%s) compadd -- %s ;;\n", c.Name, strings.Join(flags[c.Name], " "))
	}
	fmt.Fprintf(&b, "esac\n")
	return b.String()
}

func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
