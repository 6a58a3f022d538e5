package doctor

// checkUFWDocker: chaifeng/ufw-docker's setup is here. Its block declares
// DOCKER-USER, so every ufw reload flushes the other tools' rules there, and
// it trusts every private source with every published port.
func checkUFWDocker(h Host) []Finding {
	if len(h.UFWDocker) == 0 {
		return nil
	}
	return []Finding{{ID: "ufw-docker-setup", Severity: Warning,
		Summary: "chaifeng/ufw-docker's setup is here: its block flushes DOCKER-USER on every ufw reload (other tools' rules with it) " +
			"and trusts every private source with every published port",
		Evidence: h.UFWDocker,
		Fix:      "ufw-docker-bridge import --from ufw-docker --dry-run, then without --dry-run: its rules become ours, its block and rules go"}}
}
