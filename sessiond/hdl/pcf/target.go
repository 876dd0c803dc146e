package pcf

import (
	"strings"
)

// Target is the FPGA a constraint file is for, in nextpnr-ice40's words:
// Device "hx1k" (its --hx1k flag), Package "tq144" (its --package). Either
// may be "" when unknown.
type Target struct {
	Device  string
	Package string
}

// DefaultPackage is the package nextpnr-ice40 assumes for a device when
// --package is not given.
var DefaultPackage = map[string]string{
	"lp384": "qn32",
	"lp1k":  "tq144",
	"hx1k":  "tq144",
	"lp4k":  "tq144",
	"hx4k":  "tq144",
	"lp8k":  "ct256",
	"hx8k":  "ct256",
	"up3k":  "sg48",
	"up5k":  "sg48",
	"u4k":   "sg48",
}

// nextpnrDevices are nextpnr-ice40's device flags.
var nextpnrDevices = map[string]bool{
	"lp384": true, "lp1k": true, "lp4k": true, "lp8k": true, "hx1k": true, "hx4k": true, "hx8k": true,
	"up3k": true, "up5k": true, "u1k": true, "u2k": true, "u4k": true, "lm4k": true,
}

// NormalizeDevice turns the ways people write an iCE40 device into
// nextpnr-ice40's flag name: "iCE40HX1K", "HX1K", "--hx1k" and "ice40-hx1k"
// are all "hx1k", "iCE5LP4K" is "u4k". It returns "" for anything else.
func NormalizeDevice(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimLeft(s, "-")
	if rest, ok := strings.CutPrefix(s, "ice5lp"); ok { // iCE5LP4K is nextpnr's u4k
		s = "u" + rest
	}
	s = strings.TrimPrefix(s, "ice40")
	s = strings.TrimLeft(s, "-_")
	if s == "ultraplus" {
		return ""
	}
	if nextpnrDevices[s] {
		return s
	}
	return ""
}

// makefileDeviceVars and makefilePackageVars are the variable names read
// when no nextpnr-ice40 or icetime command line names the target.
var (
	makefileDeviceVars  = []string{"DEVICE", "FPGA_DEVICE", "DEV", "ICE40_DEVICE", "FPGA_TYPE", "NEXTPNR_DEVICE"}
	makefilePackageVars = []string{"PKG", "PACKAGE", "FPGA_PKG", "FPGA_PACKAGE", "ICE40_PACKAGE", "NEXTPNR_PACKAGE"}
)

// DetectTarget finds the device and package a workspace builds for.
//
// Explicit values win, field by field: the language server passes what the
// workspace's .ide/hdl.toml says, with the keys
//
//	device  = "hx1k"   # as nextpnr-ice40's flag, or "iCE40HX1K"
//	package = "tq144"
//
// For what is still unknown it reads makefile, the text of the workspace's
// Makefile (nil for none): first a nextpnr-ice40 command line ("--hx1k
// --package tq144", also written "--$(DEVICE) --package $(PKG)", with the
// Makefile's variables expanded) or an icetime/arachne-pnr one ("-d hx1k -P
// tq144", "-d 1k"), then the variables DEVICE (or FPGA_DEVICE, DEV, ...) and
// PKG (or PACKAGE, FPGA_PKG, ...) assigned with =, :=, ::= or ?=. A device
// without a package gets nextpnr-ice40's default package (DefaultPackage).
// It only reads text: nothing is run, and conditionals, includes and
// target-specific variables are not followed.
func DetectTarget(makefile []byte, explicit Target) Target {
	t := Target{Device: NormalizeDevice(explicit.Device), Package: strings.ToLower(strings.TrimSpace(explicit.Package))}
	if t.Device == "" && explicit.Device != "" {
		t.Device = strings.ToLower(strings.TrimSpace(explicit.Device))
	}
	if (t.Device == "" || t.Package == "") && len(makefile) > 0 {
		vars, lines := makeVars(string(makefile))
		for _, ln := range lines {
			if t.Device != "" && t.Package != "" {
				break
			}
			words := strings.Fields(expand(ln, vars, 0))
			tool := ""
			for i, w := range words {
				base := w[strings.LastIndexByte(w, '/')+1:]
				switch base {
				case "nextpnr-ice40", "icetime", "arachne-pnr":
					tool = base
					continue
				}
				if tool == "" {
					continue
				}
				next := ""
				if i+1 < len(words) {
					next = words[i+1]
				}
				switch {
				case tool == "nextpnr-ice40" && strings.HasPrefix(w, "--package="):
					setPkg(&t, strings.TrimPrefix(w, "--package="))
				case tool == "nextpnr-ice40" && w == "--package":
					setPkg(&t, next)
				case tool == "nextpnr-ice40" && strings.HasPrefix(w, "--"):
					if d := NormalizeDevice(w); d != "" && t.Device == "" {
						t.Device = d
					}
				case w == "-d" && t.Device == "":
					d := NormalizeDevice(next)
					if d == "" {
						d = NormalizeDevice("hx" + next) // arachne-pnr -d 1k / 8k
					}
					t.Device = d
				case w == "-P":
					setPkg(&t, next)
				}
			}
		}
		if t.Device == "" {
			for _, v := range makefileDeviceVars {
				if d := NormalizeDevice(expand(vars[v], vars, 0)); d != "" {
					t.Device = d
					break
				}
			}
		}
		if t.Package == "" {
			for _, v := range makefilePackageVars {
				if p := strings.ToLower(strings.TrimSpace(expand(vars[v], vars, 0))); p != "" && !strings.ContainsAny(p, "$ ") {
					t.Package = p
					break
				}
			}
		}
	}
	if t.Package == "" && t.Device != "" {
		t.Package = DefaultPackage[t.Device]
	}
	return t
}

func setPkg(t *Target, p string) {
	p = strings.ToLower(strings.TrimSpace(p))
	if t.Package == "" && p != "" && !strings.ContainsAny(p, "$") {
		t.Package = p
	}
}

// makeVars returns a Makefile's simple variable assignments and its other
// lines, continuation lines joined and comments removed.
func makeVars(text string) (map[string]string, []string) {
	vars := map[string]string{}
	var lines []string
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, ln := range strings.Split(text, "\n") {
		if i := strings.IndexByte(ln, '#'); i >= 0 {
			ln = ln[:i]
		}
		trim := strings.TrimSpace(ln)
		if trim == "" {
			continue
		}
		if !strings.HasPrefix(ln, "\t") {
			if name, val, ok := makeAssign(trim); ok {
				vars[name] = val
				continue
			}
		}
		lines = append(lines, trim)
	}
	return vars, lines
}

func makeAssign(s string) (name, val string, ok bool) {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return "", "", false
	}
	lhs := s[:i]
	lhs = strings.TrimRight(lhs, ":?+!")
	lhs = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lhs), "override "))
	lhs = strings.TrimSpace(strings.TrimPrefix(lhs, "export "))
	if lhs == "" || strings.ContainsAny(lhs, " \t$():") {
		return "", "", false
	}
	return lhs, strings.TrimSpace(s[i+1:]), true
}

// expand replaces $(NAME) and ${NAME} by the variables' values; unknown
// variables are left as written.
func expand(s string, vars map[string]string, depth int) string {
	if depth > 8 || !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == '(' || s[i+1] == '{') {
			closer := byte(')')
			if s[i+1] == '{' {
				closer = '}'
			}
			if j := strings.IndexByte(s[i+2:], closer); j >= 0 {
				name := s[i+2 : i+2+j]
				if v, ok := vars[name]; ok {
					b.WriteString(expand(v, vars, depth+1))
					i += j + 2
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
