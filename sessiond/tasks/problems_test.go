package tasks_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/problems"
	"gatewave.dev/sessiond/report"
	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/shared/testenv"
)

type taskJSON struct {
	ID           string             `json:"id"`
	State        string             `json:"state"`
	Problems     []problems.Problem `json:"problems"`
	SupersededBy string             `json:"superseded_by"`
	Report       *report.Report     `json:"report"`
}

// buildWithProblems runs the build task and reads its log with problem
// frames; it returns the problems streamed and the exit frame's report.
func buildWithProblems(t *testing.T, e *servertest.Env) (string, []problems.Problem, *report.Report) {
	t.Helper()
	var task taskJSON
	if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "build"}, &task); code != http.StatusCreated {
		t.Fatalf("POST build = %d", code)
	}
	ctx := testenv.Context(t, testenv.WaitLong)
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, e.WSURL("api/v1/tasks/"+task.ID+"/log?problems=1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var streamed []problems.Problem
	var out strings.Builder
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("log ended without an exit frame: %v\n%s", err, out.String())
		}
		var f struct {
			Type     string             `json:"type"`
			Data     string             `json:"data"`
			Problems []problems.Problem `json:"problems"`
			Report   *report.Report     `json:"report"`
		}
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case "output":
			out.WriteString(f.Data)
		case "problems":
			streamed = append(streamed, f.Problems...)
		case "exit":
			return task.ID, streamed, f.Report
		}
	}
}

func TestBuildProblemsAndReport(t *testing.T) {
	for _, tool := range []string{"make", "yosys", "nextpnr-ice40", "icepack"} {
		testenv.LookPath(t, tool)
	}
	e := servertest.Start(t, nil)
	e.CopyDir("../../examples/blinky")
	src := filepath.Join(e.Dir, "blinky.v")
	good, _ := os.ReadFile(src)
	os.WriteFile(src, []byte(strings.Replace(string(good), "counter <= counter + 1;", "counter <= counter + 1", 1)), 0o644)

	id1, streamed, rep := buildWithProblems(t, e)
	if rep != nil {
		t.Errorf("a failed synthesis has a report: %+v", rep)
	}
	var first taskJSON
	e.Do("GET", "api/v1/tasks/"+id1, nil, &first)
	if first.State != "failed" || len(first.Problems) == 0 {
		t.Fatalf("task = %+v, want failed with problems", first)
	}
	p := first.Problems[0]
	if p.Source != "yosys" || p.Severity != problems.Error || p.File != "blinky.v" || p.Line != 11 || !strings.Contains(p.Message, "syntax error") {
		t.Errorf("first problem = %+v, want yosys's syntax error at blinky.v:11", p)
	}
	if len(streamed) != len(first.Problems) || streamed[0] != p {
		t.Errorf("streamed %+v, task JSON %+v", streamed, first.Problems)
	}
	var ae servertest.APIError
	if code := e.Do("GET", "api/v1/build/report", nil, &ae); code != 404 {
		t.Errorf("report before any place and route: %d", code)
	}

	// Fixed and rebuilt: the earlier run's problems are gone, the new run
	// has none and a report.
	os.WriteFile(src, good, 0o644)
	id2, streamed, rep := buildWithProblems(t, e)
	e.Do("GET", "api/v1/tasks/"+id1, nil, &first)
	if len(first.Problems) != 0 || first.SupersededBy != id2 {
		t.Errorf("first run after the second = %+v, want no problems, superseded by %s", first, id2)
	}
	var second taskJSON
	e.Do("GET", "api/v1/tasks/"+id2, nil, &second)
	for _, p := range append(streamed, second.Problems...) {
		if p.Severity == problems.Error {
			t.Errorf("the fixed build has an error: %+v", p)
		}
	}
	if second.State != "succeeded" || second.Report == nil || rep == nil {
		t.Fatalf("second run = %+v, exit report %v", second, rep)
	}
	if lc := second.Report.Utilization[0]; lc.Resource != "LC" || lc.Used == 0 || lc.Available != 1280 {
		t.Errorf("LC = %+v", lc)
	}
	if second.Report.Synthesis == nil || second.Report.Device != "hx1k" || len(second.Report.Clocks) != 1 || second.Report.Clocks[0].ConstraintMHz != 12 {
		t.Errorf("report = %+v", second.Report)
	}
	var latest report.Report
	if code := e.Do("GET", "api/v1/build/report", nil, &latest); code != 200 || !latest.CreatedAt.Equal(second.Report.CreatedAt) {
		t.Errorf("GET build/report = %d %+v", code, latest)
	}

	// Nothing to rebuild: no new report, the old one stays the latest.
	_, _, rep = buildWithProblems(t, e)
	if rep != nil {
		t.Errorf("an up-to-date make made a report")
	}
}
