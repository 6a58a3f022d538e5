package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"text/template"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/templates"
)

var guardTmpl = template.Must(template.ParseFS(templates.FS, "guard.nft.tmpl"))

// Guard returns the `nft -f` script that replaces our guard table in one
// transaction, and the comment that identifies this version of it.
//
// The guard runs after iptables' FORWARD (priority filter + 10). Our
// iptables chain marks every NEW connection into a container bridge that our
// policy (deny rules, the user's ufw route rules, allow rules) let through; the
// guard drops such connections that carry no mark. So when someone flushes
// DOCKER-USER, moves its jump, restores an old ruleset or reloads firewalld,
// nothing gets through in the time before the watcher repairs it: the guard
// fails closed and agrees with the policy whenever the policy is in place.
func Guard() (script, comment string) {
	var body bytes.Buffer
	err := guardTmpl.Execute(&body, map[string]any{
		"Table":     rules.GuardTable,
		"Bridges":   nftBridges(),
		"Mark":      fmt.Sprintf("0x%08s", strings.TrimPrefix(rules.GuardMark, "0x")),
		"LogPrefix": rules.GuardLogPrefix,
	})
	if err != nil {
		panic(fmt.Sprintf("rendering the guard: %v", err))
	}
	sum := sha256.Sum256(body.Bytes())
	comment = rules.GuardCommentPrefix + hex.EncodeToString(sum[:6])
	text := strings.Replace(body.String(), " {\n", fmt.Sprintf(" {\n\tcomment %q\n", comment), 1)
	// Declaring the table first makes the delete valid when it does not exist yet.
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n%[2]s", rules.GuardTable, text), comment
}

// GuardRemoval is the `nft -f` script that deletes the guard table, valid
// whether or not it exists.
func GuardRemoval() string {
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", rules.GuardTable)
}

// nftBridges spells containerBridges the nft way ("br-*" for "br-+").
func nftBridges() []string {
	var out []string
	for _, b := range containerBridges {
		out = append(out, strings.Replace(b, "+", "*", 1))
	}
	return out
}
