package nft

import (
	"strings"
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func message(t *testing.T, attrs func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	attrs(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{1, 0, 0, 0}, b...)
}

// A rule's comment is read from its user data; another table's chain is
// left out; a set's element count is not part of the listing.
func TestWriteMessage(t *testing.T) {
	var b strings.Builder
	writeMessage(&b, "chain", message(t, func(ae *netlink.AttributeEncoder) { ae.String(nftaTable, "other"); ae.String(3, "c") }))
	udata := append([]byte{udataRuleComment, byte(len(rules.SetsCommentPrefix) + 4)}, rules.SetsCommentPrefix+"abc\x00"...)
	writeMessage(&b, "rule", message(t, func(ae *netlink.AttributeEncoder) {
		ae.String(nftaTable, rules.SetsTable)
		ae.Bytes(nftaRuleUserData, udata)
	}))
	set := func(count uint32) string {
		var s strings.Builder
		writeMessage(&s, "set", message(t, func(ae *netlink.AttributeEncoder) {
			ae.String(nftaTable, rules.SetsTable)
			ae.String(2, "bad-v4")
			ae.Uint32(nftaSetCount, count)
		}))
		return s.String()
	}
	if strings.Contains(b.String(), "chain") || setsComment(b.String()) != rules.SetsCommentPrefix+"abc" {
		t.Errorf("listing %q: another table's chain kept, or the comment not read", b.String())
	}
	if set(1) != set(100000) || !strings.HasPrefix(set(1), "set ") {
		t.Errorf("a set's listing moves with its elements: %q, %q", set(1), set(100000))
	}
}
