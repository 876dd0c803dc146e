package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// VeribleCommand is the formatter Verible runs, looked up on PATH.
const VeribleCommand = "verible-verilog-format"

// Verible runs verible-verilog-format (if on PATH) on src with
// --indentation_spaces from st, and returns the whole-document edit (none
// when the output equals src); ok=false when it is not installed. UseTabs
// and NoAlign have no Verible counterpart and are ignored.
func Verible(ctx context.Context, src []byte, st Style) (edits []Edit, ok bool, err error) {
	path, err := exec.LookPath(VeribleCommand)
	if err != nil {
		return nil, false, nil
	}
	cmd := exec.CommandContext(ctx, path, "--indentation_spaces="+strconv.Itoa(st.width()), "-")
	cmd.Stdin = bytes.NewReader(src)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000]
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && msg != "" {
			return nil, true, fmt.Errorf("run %s: %w: %s", VeribleCommand, err, msg)
		}
		return nil, true, fmt.Errorf("run %s: %w", VeribleCommand, err)
	}
	out := stdout.Bytes()
	if bytes.Equal(out, src) {
		return nil, true, nil
	}
	return []Edit{{Start: 0, End: len(src), Text: string(out)}}, true, nil
}
