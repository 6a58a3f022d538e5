package rules

import (
	"strings"
)

// CommentWord starts a rule's comment, last on its line as in UFW:
// allow 443 from 10.0.0.0/8 comment 'office VPN'.
const CommentWord = "comment"

// maxComment bounds a comment: nft takes 128 bytes, and a counter's label
// should stay short.
const maxComment = 100

// CheckComment refuses a comment that could not be carried safely into a
// rule line, a UFW file or an nft script: empty, too long, or holding a
// character outside printable ASCII or one of "'\`$#;.
func CheckComment(c string) error {
	if c == "" || strings.TrimSpace(c) != c {
		return syntaxf("empty comment, or one that begins or ends with a space")
	}
	if len(c) > maxComment {
		return syntaxf("comment too long (%d bytes, at most %d)", len(c), maxComment)
	}
	for _, ch := range []byte(c) {
		if ch < ' ' || ch >= 0x7f {
			return syntaxf("comment %q holds a character that is not printable ASCII", c)
		}
	}
	if strings.ContainsAny(c, "\"'\\`$#;") {
		return syntaxf("comment %q holds one of \" ' \\ ` $ # ; (no rule line may carry them)", c)
	}
	return nil
}

// Fields splits a rule's line as the rules file holds it: words apart by
// spaces, and a comment, last, in single quotes (one word, without them).
func Fields(line string) ([]string, error) {
	head, quoted, ok := strings.Cut(line, " "+CommentWord+" '")
	if !ok {
		return strings.Fields(line), nil
	}
	text, ok := strings.CutSuffix(strings.TrimRight(quoted, " \t"), "'")
	if !ok || strings.Contains(text, "'") {
		return nil, syntaxf("comment not closed by a single quote at the end of the line")
	}
	return append(strings.Fields(head), CommentWord, text), nil
}

// cutComment takes a trailing "comment TEXT" off words.
func cutComment(words []string) ([]string, string, error) {
	n := len(words)
	if n >= 2 && words[n-2] == CommentWord {
		if err := CheckComment(words[n-1]); err != nil {
			return nil, "", err
		}
		return words[:n-2], words[n-1], nil
	}
	if n >= 1 && words[n-1] == CommentWord {
		return nil, "", syntaxf("missing text after comment")
	}
	return words, "", nil
}

// iptablesComment is the comment match as iptables-save prints it: quoted
// unless it is letters, digits, '_' and '-' only.
func iptablesComment(c string) string {
	if strings.Trim(c, "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return "-m comment --comment " + c
	}
	return `-m comment --comment "` + c + `"`
}

// Commented puts the rule's comment match before the target of each
// rendered line ("... -j TARGET"), where iptables-save prints it.
func (r Rule) Commented(lines []string) []string {
	if r.Comment == "" {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if j := strings.LastIndex(l, "-j "); j >= 0 {
			l = l[:j] + iptablesComment(r.Comment) + " " + l[j:]
		}
		out[i] = l
	}
	return out
}
