package flash

import (
	"fmt"
	"strings"
)

// UdevRulesPath is where the rules from UdevRules belong. The number is
// below 73 on purpose: systemd's 73-seat-late.rules turns the "uaccess"
// tag into an ACL for the logged-in user, so the tag must be set earlier.
const UdevRulesPath = "/etc/udev/rules.d/70-gatewave-fpga.rules"

// UdevRules is a udev rules file that gives the logged-in user read-write
// access to every vid:pid in the board list (GET api/v1/flash/udev).
func (s *Service) UdevRules() string {
	var b strings.Builder
	b.WriteString("# Gatewave: let the logged-in user flash the FPGA boards Gatewave knows\n")
	b.WriteString("# (generated from sessiond's board list).\n")
	b.WriteString("#\n")
	fmt.Fprintf(&b, "# Save this file as %s, then run\n", UdevRulesPath)
	b.WriteString("#   sudo udevadm control --reload-rules && sudo udevadm trigger\n")
	b.WriteString("# and unplug and replug the board.\n")
	b.WriteString("#\n")
	b.WriteString("# TAG+=\"uaccess\" lets systemd-logind grant the user at the seat access;\n")
	b.WriteString("# MODE=\"0660\" keeps everyone else out.\n")
	var order []string
	names := map[string][]string{}
	for _, bd := range s.opts.Boards {
		for _, u := range bd.USB {
			id := u.VID + ":" + u.PID
			if _, ok := names[id]; !ok {
				order = append(order, id)
			}
			if n := names[id]; len(n) == 0 || n[len(n)-1] != bd.Name {
				names[id] = append(n, bd.Name)
			}
		}
	}
	for _, id := range order {
		vid, pid, _ := strings.Cut(id, ":")
		fmt.Fprintf(&b, "\n# %s (%s)\n", strings.Join(names[id], ", "), id)
		fmt.Fprintf(&b, "SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"%s\", ATTRS{idProduct}==\"%s\", MODE=\"0660\", TAG+=\"uaccess\"\n", vid, pid)
	}
	return b.String()
}
