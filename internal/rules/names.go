package rules

// Names are API: the kernel, the UFW files and users' scripts hold them, so
// they are never renamed once released.
//
// Topology (filter table, both families; G is a guest bridge: virbr+,
// lxdbr+, incusbr+, lxcbr+, mpqemubr+, mpbr+ and the included ones; X an
// excluded one; a container bridge is docker0, br-+, Podman's, or any
// bridge Docker's own rules name, which wins over every pattern):
//
//	FORWARD
//	  -> DOCKER-USER                       (Docker's hook, shared: other tools' rules
//	                                        (fail2ban, CrowdSec, an admin's DROP) stay in
//	                                        place and in order; made and hooked in by us
//	                                        where Docker is not there yet or runs its
//	                                        nftables backend, table ip docker-bridges)
//	       -> ufw-docker-bridge-user        (our jump: once; inserted first when missing,
//	                                        left where it is when others inserted above it)
//	  ufw-docker-bridge-user
//	       in or out of X -> RETURN         (left to its owner)
//	       in or out of G, RELATED,ESTABLISHED -> ACCEPT
//	       RELATED,ESTABLISHED -> RETURN   (Docker's own rules accept it)
//	       INVALID -> DROP
//	       bridged within G -> ACCEPT      (br_netfilter: same-bridge frames)
//	       NEW into G -> ufw-docker-bridge-guests
//	       from an included G that br-+ matches: into a container bridge
//	         -> ufw-docker-bridge-forward; -> ufw-user-forward, then ACCEPT
//	       from a container bridge -> RETURN (egress and same-network: Docker decides;
//	         ACCEPT for Docker's bridges under its nftables backend, whose own
//	         chains still drop what Docker drops)
//	       NEW into a container bridge -> ufw-docker-bridge-forward
//	         (and for Podman's bridges, and Docker's under its nftables backend,
//	         allowed -> ACCEPT: their owner accepts nothing in iptables)
//	       from G -> ufw-user-forward, then ACCEPT (guest egress; ufw route rules first)
//	       RETURN
//	  ufw-docker-bridge-forward
//	       MARK GuardMark                   (our policy was consulted)
//	       deny rules                       -> DROP
//	       -> ufw-user-forward              (the user's `ufw route` rules decide first)
//	       allow rules                      -> RETURN (Docker's rules finish the job;
//	                                           only connections Docker DNAT'd, not to loopback)
//	       rate-limited LOG, then DROP      (fail closed)
//	  ufw-docker-bridge-guests              (NEW into a guest: closed unless a ufw route rule or a forward opens it)
//	       deny rules -> DROP; -> ufw-user-forward; forwards -> ACCEPT; rate-limited LOG, then DROP
//
//	INPUT -> ufw-before-input (UFW's) ... -> ufw-docker-bridge-input (just before
//	         ufw-user-input, where UFW's load of after.rules puts it)
//	INPUT -> ufw-docker-bridge-input first (the iptables backend: no UFW, no firewalld)
//	       deny rules with --host-too -> DROP; allow rules with --host-too -> ACCEPT
//	       from G: DHCP, DHCPv6 and DNS to the host -> ACCEPT
//
//	nftables table inet ufw-docker-bridge (the guard; after iptables' FORWARD,
//	untouched by iptables -F, iptables-restore and ufw or firewalld reloads)
//	  chain forward, hook forward priority filter + 10
//	       not NEW, or from a container bridge -> accept
//	       into a container bridge -> goto check
//	  chain check
//	       GuardMark set -> accept           (our iptables policy allowed it)
//	       rate-limited log, drop            (our iptables policy was bypassed)
//	  sets published, published-addr         (Docker's published ports, from its DNAT rules)
//	  chain input, hook input priority filter + 10
//	       not IPv4, not NEW, from lo or a container bridge -> accept
//	       to a published port -> rate-limited log, drop (Docker's DNAT is gone:
//	         docker-proxy would answer through INPUT)
//
//	nftables table inet ufw-docker-bridge-nat (only while a guest subnet has
//	no other NAT, or a forward is found): postrouting masquerade per such
//	subnet; prerouting and output DNAT per forward
const (
	// ChainDockerUser is Docker's chain for the host's policy, jumped to
	// first from FORWARD. Other tools write there too: we own one jump in it.
	ChainDockerUser = "DOCKER-USER"
	// ChainUser is our chain DOCKER-USER jumps to: the whole policy for
	// traffic into and out of bridges.
	ChainUser = "ufw-docker-bridge-user"
	// ChainForward is our chain for NEW connections into container bridges.
	ChainForward = "ufw-docker-bridge-forward"
	// ChainGuests is our chain for NEW connections into guest bridges.
	ChainGuests = "ufw-docker-bridge-guests"
	// ChainInput is our chain for guests' DHCP and DNS to the host.
	ChainInput = "ufw-docker-bridge-input"
	// ChainUFWBeforeInput is UFW's input chain our input chain hangs off (IPv4).
	ChainUFWBeforeInput = "ufw-before-input"
	// ChainUFW6BeforeInput is UFW's input chain our input chain hangs off (IPv6).
	ChainUFW6BeforeInput = "ufw6-before-input"
	// ChainUFWUserInput is UFW's chain of the user's input rules (IPv4).
	ChainUFWUserInput = "ufw-user-input"
	// ChainUFW6UserInput is UFW's chain of the user's input rules (IPv6).
	ChainUFW6UserInput = "ufw6-user-input"
	// ChainUFWUserForward is UFW's chain of `ufw route` rules (IPv4).
	ChainUFWUserForward = "ufw-user-forward"
	// ChainUFW6UserForward is UFW's chain of `ufw route` rules (IPv6).
	ChainUFW6UserForward = "ufw6-user-forward"
	// ChainForwardBuiltin is the built-in FORWARD chain.
	ChainForwardBuiltin = "FORWARD"
	// ChainInputBuiltin is the built-in INPUT chain (our input chain is
	// hooked into it first by the iptables backend).
	ChainInputBuiltin = "INPUT"

	// MarkerBegin opens the block this project manages in a UFW file.
	MarkerBegin = "# BEGIN ufw-docker-bridge"
	// MarkerEnd closes the block this project manages in a UFW file.
	MarkerEnd = "# END ufw-docker-bridge"
	// MarkerAddedNewline is appended to MarkerBegin when the block was
	// appended to a file that did not end in a newline, so that removing the
	// block also removes the newline we added.
	MarkerAddedNewline = " (newline added)"
	// BlockSumPrefix begins the block's line that holds the SHA-256 (hex)
	// of the rest of the block, up to the END marker: an edit by hand
	// shows, and is kept aside before the block is rendered again.
	BlockSumPrefix = "# sha256 of the lines below: "

	// UFWDockerBegin and UFWDockerEnd enclose the block chaifeng/ufw-docker
	// appends to UFW's after.rules (and after6.rules), which import --from
	// ufw-docker takes out.
	UFWDockerBegin = "# BEGIN UFW AND DOCKER"
	UFWDockerEnd   = "# END UFW AND DOCKER"

	// LogPrefix tags the kernel log lines of NEW connections to published
	// ports that we drop.
	LogPrefix = "[UFW-DOCKER-BRIDGE BLOCK] "
	// GuestLogPrefix tags those of NEW connections into guests we drop.
	// (The kernel keeps 29 characters of a prefix.)
	GuestLogPrefix = "[UFW-DOCKER-BRIDGE GUEST] "

	// GuardTable is our own nftables table (family inet).
	GuardTable = "ufw-docker-bridge"
	// GuardMark is the packet mark bit our iptables chain sets on every NEW
	// connection it lets through; the guard drops NEW connections into a
	// container bridge that lack it. Bit 24: clear of Kubernetes (0x4000,
	// 0x8000) and Tailscale (0xff0000).
	GuardMark = "0x1000000"
	// GuardLogPrefix tags the kernel log lines of connections the guard drops.
	GuardLogPrefix = "[UFW-DOCKER-BRIDGE GUARD] "
	// GuardCommentPrefix starts the guard table's comment, followed by the
	// hash of its rendered text, so a pass can tell a current guard from an
	// old or altered one.
	GuardCommentPrefix = "ufw-docker-bridge guard "

	// SetsTable is our nftables table (family inet) of address sets: each
	// set NAME is two interval sets, NAME-v4 and NAME-v6, and the chains
	// that use them (see plan.SetsTable).
	SetsTable = "ufw-docker-bridge-sets"
	// SetsCommentPrefix starts the comment of the first rule of the sets
	// table's forward chain (a statement that changes nothing: no counter,
	// whose values would make every listing differ), followed by the hash
	// of the table's text.
	SetsCommentPrefix = "ufw-docker-bridge sets "
	// SetsMark is the packet mark bit the sets table sets on every packet
	// that ran its sources chain to the end: while a rule names a set, our
	// iptables chains drop NEW connections without it (the table is gone,
	// or its chain flushed: fail closed).
	SetsMark = "0x2000000"
	// SetSentinelV4 and SetSentinelV6 are the element every set of the
	// sets table holds besides its entries (never in the state's files):
	// the sources chain drops what goes into a bridge while a set a rule
	// names lacks it, so a flushed set closes, never opens. No packet is
	// forwarded from these sources (the kernel drops them as martians).
	SetSentinelV4 = "0.0.0.0"
	SetSentinelV6 = "::"
	// SetAllowMark is the packet mark bit the sets table sets on a NEW
	// connection whose source is in the set of an allow rule for its port;
	// that rule's iptables line matches the bit.
	SetAllowMark = "0x4000000"

	// NATTable is our nftables table (family inet) that masquerades guest
	// subnets no one else masquerades.
	NATTable = "ufw-docker-bridge-nat"
	// NATCommentPrefix starts the NAT table's comment, followed by the hash
	// of its rendered text.
	NATCommentPrefix = "ufw-docker-bridge nat "

	// FirewalldZone is our firewalld zone for guest bridges (firewalld
	// limits zone names to 17 characters).
	FirewalldZone = "udb-guests"
	// FirewalldPolicy is our firewalld policy for guest egress.
	FirewalldPolicy = "udb-guests-out"

	// DockerBridgeDefault is the bridge of Docker's default network.
	DockerBridgeDefault = "docker0"
	// DockerBridgeWildcard matches the bridges of user-defined Docker
	// networks (br-<network id>), including networks created later.
	DockerBridgeWildcard = "br-+"
	// DockerNFTTable is Docker's nftables table (families ip and ip6) when
	// it runs its nftables firewall backend: its presence says so.
	DockerNFTTable = "docker-bridges"
	// DockerNFTBridgeChainPrefix starts the name of the chain Docker's
	// nftables table holds for each bridge it manages
	// (filter-forward-in__docker0): the bridge's name follows.
	DockerNFTBridgeChainPrefix = "filter-forward-in__"
	// PodmanBridgeCNI matches Podman's bridges under CNI (cni-podman0, ...).
	PodmanBridgeCNI = "cni-podman+"
	// PodmanBridgeNetavark matches Podman's bridges under netavark (podman0, ...).
	PodmanBridgeNetavark = "podman+"
)

// OwnedChains are the filter chains we own in both families: declared (hence
// flushed) by every restore of ours, compared with the plan by every check.
var OwnedChains = []string{ChainUser, ChainForward, ChainGuests, ChainInput}
