// Package flash writes bitstreams to FPGA boards attached to the machine
// sessiond runs on (the desktop app, or a node with USB passthrough) with
// openFPGALoader or dfu-util. It serves the board list (boards.json, which
// the browser's flashers read too), finds the boards plugged in by reading
// sysfs, and turns a flash request into the right programmer's argv.
// Programmers are described in configuration, in the manner of apio's
// programmers.json, as argv templates that are filled with validated
// values and run without a shell. A flash runs as a task, so its output
// streams over the task log like a build's, and the task's "progress" is
// parsed from the programmer's own progress bar.
//
// Routes (under /api/v1, token-authenticated):
//
//	GET  flash/boards      {"boards":[...boards.json entries...]}
//	GET  flash/devices     {"devices":[Device...],"note":"why the list may be empty"}
//	GET  flash/udev        text/plain udev rules for every board's vid:pid
//	GET  flash/programmers {"programmers":[Availability...]}
//	POST flash             {"path":"build/top.bin","board":"icestick","target":"flash"|"sram",
//	                        "bus":1,"address":5}  (or "vidpid":"0403:6010"), or the
//	                       programmer form {"path":..,"programmer":"openfpgaloader","board"|"cable"|"vidpid":..};
//	                       202 with the task's JSON. On Linux, when sysfs shows no USB bus
//	                       (a container without USB passthrough; GET flash/devices says so
//	                       in its note), 424 {"error":{"code":"no_usb_bus","message":..,
//	                       "details":{"sysfs":"/sys/bus/usb"}}} before any programmer runs.
package flash

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// Programmer is one configured programming tool.
type Programmer struct {
	Description string `json:"description"`
	// Binary is looked up in PATH when a flash starts.
	Binary string `json:"binary"`
	// Package is the Debian package that provides Binary, for error hints.
	Package string `json:"package"`
	// Args is the argv after Binary. "${TARGET}" expands to the chosen
	// target's arguments; "${FILE}" is the bitstream's absolute path.
	Args []string `json:"args"`
	// Targets maps a way of choosing the device ("board", "cable",
	// "vidpid", or "" for none) to its arguments, which may use ${BOARD},
	// ${CABLE}, ${VID} and ${PID}.
	Targets map[string][]string `json:"targets"`
	// Errors turn the programmer's output into a clear diagnosis, first
	// match wins.
	Errors []ErrorPattern `json:"errors"`
}

// ErrorPattern maps output containing Match to a problem code and message.
type ErrorPattern struct {
	Match   string `json:"match"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

//go:embed programmers.json
var defaultConfig []byte

// DefaultProgrammers returns the built-in programmer table.
func DefaultProgrammers() map[string]Programmer {
	m, err := ParseProgrammers(defaultConfig)
	if err != nil {
		panic("flash: built-in programmers.json: " + err.Error())
	}
	return m
}

// ParseProgrammers reads a programmers.json document and checks it.
func ParseProgrammers(data []byte) (map[string]Programmer, error) {
	var m map[string]Programmer
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse programmers: %w", err)
	}
	for id, p := range m {
		if p.Binary == "" || len(p.Targets) == 0 {
			return nil, fmt.Errorf("programmer %q: binary and targets are required", id)
		}
		if !slices.Contains(p.Args, "${FILE}") {
			return nil, fmt.Errorf("programmer %q: args must contain ${FILE}", id)
		}
		for _, a := range p.Args {
			if a == "${TARGET}" {
				continue
			}
			if err := checkTemplate(a, "FILE"); err != nil {
				return nil, fmt.Errorf("programmer %q: args: %w", id, err)
			}
		}
		for t, args := range p.Targets {
			for _, a := range args {
				if err := checkTemplate(a, append([]string{"FILE"}, targetVars[t]...)...); err != nil {
					return nil, fmt.Errorf("programmer %q: target %q: %w", id, t, err)
				}
			}
		}
	}
	return m, nil
}

// targetVars are the placeholders each way of choosing the device sets.
var targetVars = map[string][]string{"board": {"BOARD"}, "cable": {"CABLE"}, "vidpid": {"VID", "PID"}}

// checkTemplate reports a placeholder in tmpl other than names (and
// "${TARGET}" anywhere but as a whole argument, which Args alone may hold).
func checkTemplate(tmpl string, names ...string) error {
	vars := make(map[string]string, len(names))
	for _, n := range names {
		vars[n] = ""
	}
	_, err := expand(tmpl, vars)
	return err
}

// Options configure a Service. Workspace and Tasks are required.
type Options struct {
	Workspace *workspace.Workspace
	// Tasks runs the programmer so its output streams like a build's.
	Tasks *tasks.Service
	// Programmers is the programmer table; nil means DefaultProgrammers().
	Programmers map[string]Programmer
	// Boards is the board list; nil means DefaultBoards().
	Boards []Board
	// SysfsRoot is where sysfs is mounted; "" means "/sys".
	SysfsRoot string
	// DevRoot holds the USB device nodes (DevRoot/bus/usb/BBB/DDD); ""
	// means "/dev".
	DevRoot string
	// Access reports whether a device node can be opened read-write; nil
	// opens it (O_RDWR) and closes it again.
	Access func(path string) error
}

// Service starts flashes.
type Service struct {
	opts Options
	// goos is runtime.GOOS; the tests set another.
	goos string
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Workspace == nil || opts.Tasks == nil {
		return nil, errors.New("flash: Options.Workspace and Options.Tasks are required")
	}
	if opts.Programmers == nil {
		opts.Programmers = DefaultProgrammers()
	}
	if opts.Boards == nil {
		opts.Boards = DefaultBoards()
	}
	if opts.SysfsRoot == "" {
		opts.SysfsRoot = "/sys"
	}
	if opts.DevRoot == "" {
		opts.DevRoot = "/dev"
	}
	if opts.Access == nil {
		opts.Access = openReadWrite
	}
	return &Service{opts: opts, goos: runtime.GOOS}, nil
}

// Close stops nothing of its own: flashes are tasks, closed with them.
func (s *Service) Close() error { return nil }

// Request is a flash as the API receives it, in one of two forms.
//
// By board (Programmer empty): Board is a board list id; it picks the
// programmer and its arguments. Target is "flash" (the default) or
// "sram"; Bus and Address (as GET flash/devices reports them) or VIDPID
// pick one device when several are attached.
//
// By programmer: Programmer names an entry of the programmer table and at
// most one of Board (the programmer's own board name), Cable and VIDPID
// chooses the device.
type Request struct {
	Path       string `json:"path"`
	Programmer string `json:"programmer"`
	Board      string `json:"board,omitempty"`
	Cable      string `json:"cable,omitempty"`
	VIDPID     string `json:"vidpid,omitempty"`
	Target     string `json:"target,omitempty"`
	Bus        int    `json:"bus,omitempty"`
	Address    int    `json:"address,omitempty"`
}

// Availability is a programmer as GET /api/v1/flash/programmers reports it.
type Availability struct {
	ID          string   `json:"id"`
	Binary      string   `json:"binary"`
	Available   bool     `json:"available"`
	Description string   `json:"description,omitempty"`
	Package     string   `json:"package,omitempty"`
	Targets     []string `json:"targets"`
}

// Programmers lists the configured programmers and whether each is installed.
func (s *Service) Programmers() []Availability {
	out := make([]Availability, 0, len(s.opts.Programmers))
	for id, p := range s.opts.Programmers {
		_, err := exec.LookPath(p.Binary)
		var targets []string
		for t := range p.Targets {
			if t != "" {
				targets = append(targets, t)
			}
		}
		slices.Sort(targets)
		out = append(out, Availability{ID: id, Binary: p.Binary, Available: err == nil, Description: p.Description, Package: p.Package, Targets: targets})
	}
	slices.SortFunc(out, func(a, b Availability) int { return strings.Compare(a.ID, b.ID) })
	return out
}

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)
	vidpidPattern = regexp.MustCompile(`^(?:0x)?([0-9A-Fa-f]{4}):(?:0x)?([0-9A-Fa-f]{4})$`)
)

// Argv checks r and fills the programmer's template. Every user value is
// validated to a narrow pattern and becomes exactly one argument, so nothing
// the client sends can add options or reach a shell.
func (s *Service) Argv(r Request) (argv []string, p Programmer, err error) {
	ids := make([]string, 0, len(s.opts.Programmers))
	for id := range s.opts.Programmers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if r.Programmer == "" && r.Board == "" {
		return nil, p, apierr.BadRequest(`give "board" (one of %s) or "programmer" (one of %s)`, strings.Join(s.boardIDs(), ", "), strings.Join(ids, ", ")).
			WithDetails(map[string]any{"programmers": ids, "boards": s.boardIDs()})
	}
	if r.Target != "" || r.Bus != 0 || r.Address != 0 {
		if r.Programmer != "" {
			return nil, p, apierr.BadRequest(`"target", "bus" and "address" go with a board from the board list, without "programmer"`)
		}
	}
	p, ok := s.opts.Programmers[r.Programmer]
	if !ok && r.Programmer != "" {
		return nil, p, apierr.NotFound("no programmer %q: configured ones are %s", r.Programmer, strings.Join(ids, ", ")).WithDetails(map[string]any{"programmers": ids})
	}
	rel, err := workspace.Clean(r.Path)
	if err != nil {
		return nil, p, err
	}
	if rel == "." {
		return nil, p, apierr.BadRequest(`"path" is required: the bitstream to write, relative to the workspace`)
	}
	e, err := s.opts.Workspace.Stat(rel)
	if err != nil {
		return nil, p, err
	}
	if e.Type != workspace.TypeFile {
		return nil, p, apierr.BadRequest("%q is not a regular file (symlinks are not followed)", rel)
	}

	file := s.opts.Workspace.Abs(rel)
	if r.Programmer == "" {
		return s.boardArgv(r, file)
	}
	vars := map[string]string{"FILE": file}
	target := ""
	set := 0
	if r.Board != "" {
		set++
		target = "board"
		if !namePattern.MatchString(r.Board) {
			return nil, p, apierr.BadRequest("board %q is not a valid name (letters, digits, _ . + -)", r.Board)
		}
		vars["BOARD"] = r.Board
	}
	if r.Cable != "" {
		set++
		target = "cable"
		if !namePattern.MatchString(r.Cable) {
			return nil, p, apierr.BadRequest("cable %q is not a valid name (letters, digits, _ . + -)", r.Cable)
		}
		vars["CABLE"] = r.Cable
	}
	if r.VIDPID != "" {
		set++
		target = "vidpid"
		m := vidpidPattern.FindStringSubmatch(r.VIDPID)
		if m == nil {
			return nil, p, apierr.BadRequest(`vidpid %q must look like "0403:6010"`, r.VIDPID)
		}
		vars["VID"], vars["PID"] = strings.ToLower(m[1]), strings.ToLower(m[2])
	}
	if set > 1 {
		return nil, p, apierr.BadRequest(`give at most one of "board", "cable" and "vidpid"`)
	}
	targetArgs, ok := p.Targets[target]
	if !ok {
		var accepted []string
		for t := range p.Targets {
			if t != "" {
				accepted = append(accepted, t)
			}
		}
		slices.Sort(accepted)
		what := "choosing the device by " + target
		if target == "" {
			what = "flashing without naming a device"
		}
		return nil, p, apierr.BadRequest("%s does not support %s; give one of %s", r.Programmer, what, strings.Join(accepted, ", "))
	}
	argv = []string{p.Binary}
	for _, a := range p.Args {
		if a == "${TARGET}" {
			for _, t := range targetArgs {
				x, err := expand(t, vars)
				if err != nil {
					return nil, p, apierr.Internal("programmer %q, target %q: %v", r.Programmer, target, err)
				}
				argv = append(argv, x)
			}
			continue
		}
		x, err := expand(a, vars)
		if err != nil {
			return nil, p, apierr.Internal("programmer %q: %v", r.Programmer, err)
		}
		argv = append(argv, x)
	}
	return argv, p, nil
}

// expand fills the placeholders (${NAME}, or $NAME as os.Expand reads it)
// of one template argument from vars in a single pass over the template,
// so a value that itself contains "${BOARD}" (a file path, say) is
// inserted as is, never expanded again. A placeholder vars lacks is an
// error.
func expand(tmpl string, vars map[string]string) (string, error) {
	var unknown []string
	out := os.Expand(tmpl, func(name string) string {
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, "${"+name+"}")
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("template %q: unknown placeholder %s", tmpl, strings.Join(unknown, ", "))
	}
	return out, nil
}

// Start validates r, checks that sessiond can reach USB devices at all and
// that the programmer is installed, and starts the flash as a task named
// "flash".
func (s *Service) Start(r Request) (*tasks.Task, error) {
	if r.Programmer == "" && r.Board != "" {
		if b, ok := s.board(r.Board); ok && b.Protocol == ProtocolTinyprog {
			return nil, apierr.New(422, "unsupported_protocol", "%s is flashed through its bootloader's serial protocol, which sessiond does not run natively (tinyprog is not a Debian package): use Flash in the browser, which speaks it over Web Serial", b.Name).
				WithDetails(map[string]any{"board": b.ID, "protocol": b.Protocol})
		}
	}
	argv, p, err := s.Argv(r)
	if err != nil {
		return nil, err
	}
	if s.noUSBBus() {
		return nil, s.noUSBBusError()
	}
	if _, err := exec.LookPath(p.Binary); err != nil {
		hint := ""
		if p.Package != "" {
			hint = fmt.Sprintf(" (Debian package %s)", p.Package)
		}
		return nil, apierr.New(424, "programmer_missing", "%s is not installed on the machine sessiond runs on%s", p.Binary, hint).
			WithDetails(map[string]any{"programmer": r.Programmer, "binary": p.Binary, "package": p.Package})
	}
	rel, _ := workspace.Clean(r.Path) // Argv checked it
	pp := &progressParser{total: imageSize(s.opts.Workspace.Abs(rel))}
	return s.opts.Tasks.Start(tasks.Spec{
		Name:     "flash",
		Argv:     argv,
		Diagnose: s.diagnose(p, r),
		Progress: pp.Line,
	})
}

// noUSBBus reports whether sysfs shows no USB bus at all (no
// SysfsRoot/bus/usb/devices), as in a container without USB passthrough:
// no programmer could reach a board, so a flash is refused before one
// runs. Only Linux has sysfs; elsewhere the programmers find devices
// themselves, so the answer is always false.
func (s *Service) noUSBBus() bool {
	if s.goos != "linux" {
		return false
	}
	_, err := os.Stat(filepath.Join(s.opts.SysfsRoot, "bus", "usb", "devices"))
	return errors.Is(err, fs.ErrNotExist)
}

// noUSBBusError is the refusal of a flash when noUSBBus: HTTP 424, code
// "no_usb_bus", a message the UI shows as is.
func (s *Service) noUSBBusError() *apierr.Error {
	return apierr.New(424, "no_usb_bus", "This session runs in a container with no USB devices (sessiond sees no USB bus), so it cannot reach a board: use Flash in the browser (Chrome, Chromium or Edge) or the Gatewave desktop app.").
		WithDetails(map[string]any{"sysfs": filepath.Join(s.opts.SysfsRoot, "bus", "usb")})
}

// diagnose explains a failed flash from the programmer's output and, for
// "no device" or permission errors, from what sysfs shows: a matching
// device that is plugged in but cannot be opened is a permission problem,
// explained with what to do on this OS.
func (s *Service) diagnose(p Programmer, r Request) func(int, []byte) *tasks.Problem {
	return func(code int, out []byte) *tasks.Problem {
		if code == 0 || code >= 128 { // success, or cancelled by a signal
			return nil
		}
		text := string(out)
		pr := &tasks.Problem{Code: "flash_failed", Message: fmt.Sprintf("%s exited with status %d; see the log above", p.Binary, code)}
		for _, e := range p.Errors {
			if strings.Contains(text, e.Match) {
				pr = &tasks.Problem{Code: e.Code, Message: e.Message}
				break
			}
		}
		switch pr.Code {
		case "no_device", "usb_permission", "device_error", "flash_failed":
			if d, ok := s.blockedDevice(r); ok {
				pr = &tasks.Problem{Code: "usb_permission", Message: fmt.Sprintf("the board is plugged in (%s:%s on bus %d address %d) but this user cannot open it: %s", d.VID, d.PID, d.Bus, d.Address, PermissionHelp(runtime.GOOS))}
			} else if pr.Code == "usb_permission" {
				pr.Message += ": " + PermissionHelp(runtime.GOOS)
			}
		}
		pr.Message = "flash failed: " + pr.Message
		return pr
	}
}

// blockedDevice finds a device the request may have meant that is plugged
// in but not accessible.
func (s *Service) blockedDevice(r Request) (Device, bool) {
	var vid, pid string
	if m := vidpidPattern.FindStringSubmatch(r.VIDPID); m != nil {
		vid, pid = strings.ToLower(m[1]), strings.ToLower(m[2])
	}
	b, isBoard := s.board(r.Board)
	for _, d := range s.Devices().Devices {
		if d.Accessible {
			continue
		}
		switch {
		case r.Bus != 0 && (d.Bus != r.Bus || d.Address != r.Address):
		case vid != "" && (d.VID != vid || d.PID != pid):
		case r.Programmer == "" && isBoard && !slices.Contains(d.Boards, b.ID):
		default:
			return d, true
		}
	}
	return Device{}, false
}
