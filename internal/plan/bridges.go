package plan

import (
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// containerPatterns match docker0 and every user-defined Docker network by
// its default interface name (br-<id>), including networks created later,
// then Podman's bridges (CNI's cni-podmanN, netavark's podmanN). They are
// the fallback: Docker's own rules name the bridges it manages, whatever
// their names (DockerBridges), and those are container bridges too. Never
// an address range, so no LAN or VPC host is trusted by accident.
var containerPatterns = append([]string{rules.DockerBridgeDefault, rules.DockerBridgeWildcard}, podmanBridges...)

// podmanBridges are the container bridges whose owner accepts no NEW
// connection to a published port in FORWARD (Docker does, in its DOCKER
// chain): there our policy accepts what it allows.
var podmanBridges = []string{rules.PodmanBridgeCNI, rules.PodmanBridgeNetavark}

// ContainerBridges returns the interface patterns that match the container
// bridges whatever Docker says (Docker's and Podman's default names), in
// iptables' spelling.
func ContainerBridges() []string { return slices.Clone(containerPatterns) }

// DockerBridges returns the bridges that Docker's own rules name in the
// live filter tables (of both families, nil ones skipped), sorted so that
// our rules do not move when Docker rewrites its own: FORWARD's jumps to
// Docker's chains (`-o X -j DOCKER`, Docker 20 to 27) and every -i/-o in
// Docker's chains (DOCKER,
// DOCKER-ISOLATION-STAGE-1/2, and DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT
// since Docker 28). A network created with its own bridge name
// (com.docker.network.bridge.name) and Swarm's docker_gwbridge are found so,
// from the first rule Docker writes for them. DOCKER-USER is ours and is
// not read.
func DockerBridges(lives ...*rules.Table) []string {
	var out []string
	add := func(words []string) {
		for _, flag := range []string{"-i", "-o"} {
			if name := rules.Arg(words, flag); name != "" && !strings.HasSuffix(name, "+") && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	for _, live := range lives {
		if live == nil {
			continue
		}
		for _, c := range live.Chains {
			docker := strings.HasPrefix(c.Name, "DOCKER") && c.Name != rules.ChainDockerUser
			for _, r := range c.Rules {
				words := rules.Words(r)
				target := rules.Arg(words, "-j")
				if docker || c.Name == rules.ChainForwardBuiltin && strings.HasPrefix(target, "DOCKER") && target != rules.ChainDockerUser {
					add(words)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// DockerNFTBridges returns the bridges that Docker's nftables table has a
// chain for (its nftables firewall backend: filter-forward-in__NAME), given
// the names of the table's chains; sorted, like DockerBridges.
func DockerNFTBridges(chains []string) []string {
	var out []string
	for _, c := range chains {
		if name, ok := strings.CutPrefix(c, rules.DockerNFTBridgeChainPrefix); ok && name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// roles says which bridge our rules treat how, from the user's bridge
// settings and Docker's facts. Docker's facts win over every name: a bridge
// Docker manages is a container bridge even when a guest pattern or an
// include names it. An explicit exclude wins over everything (the user
// leaves that bridge to its owner), and an explicit include wins over the
// container patterns (an admin's br-lan is not Docker's).
type roles struct {
	// containers are the container bridges: the patterns, then Docker's
	// bridges that no pattern matches.
	containers []string
	// guests are the guest bridges (patterns and includes), less Docker's.
	guests []string
	// early are the included guests that a container pattern matches too:
	// their rules must come before the patterns'.
	early []string
	// excluded are left to their owners.
	excluded []string
}

func rolesOf(br rules.Bridges, docker []string) roles {
	r := roles{containers: ContainerBridges(), excluded: br.Excluded}
	for _, d := range docker {
		if !rules.MatchesAny(containerPatterns, d) {
			r.containers = append(r.containers, d)
		}
	}
	for _, g := range br.Guests {
		if slices.Contains(docker, g) {
			continue
		}
		r.guests = append(r.guests, g)
		if !strings.HasSuffix(g, "+") && rules.MatchesAny(containerPatterns, g) {
			r.early = append(r.early, g)
		}
	}
	return r
}

// Roles of a bridge in our rules.
const (
	RoleContainers = "containers" // published ports closed unless allowed
	RoleGuests     = "guests"     // forwarding, DHCP/DNS and NAT kept working
	RoleExcluded   = "excluded"   // left to its owner by a bridge rule
	RoleNone       = "-"          // no rule of ours matches it
)

// RoleOf says how our rules treat the bridge named name, given the bridge
// settings and Docker's bridges, in the order the rules decide it.
func RoleOf(br rules.Bridges, dockerBridges []string, name string) string {
	ro := rolesOf(br, dockerBridges)
	switch {
	case rules.MatchesAny(ro.excluded, name):
		return RoleExcluded
	case slices.Contains(dockerBridges, name):
		return RoleContainers
	case rules.MatchesAny(ro.guests, name):
		return RoleGuests
	case rules.MatchesAny(ro.containers, name):
		return RoleContainers
	}
	return RoleNone
}
