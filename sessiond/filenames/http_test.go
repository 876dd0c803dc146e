package filenames

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

func TestRoute(t *testing.T) {
	ws, err := workspace.Open(tree(t, map[string]string{"src/ui/palette.ts": "", "src/app.ts": "", "README.md": ""}))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	s, err := New(Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(slog.Default())})
	s.Mount(app.Group("/api/v1"))

	get := func(url string) (int, []byte) {
		resp, err := app.Test(httptest.NewRequest("GET", url, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := get("/api/v1/filenames?q=pal&limit=10")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Files != 3 || r.Total != 1 || len(r.Results) != 1 || r.Results[0].Path != "src/ui/palette.ts" {
		t.Fatalf("response %s", body)
	}
	if got := r.Results[0].Positions; len(got) != 3 || got[0] != 7 {
		t.Errorf("positions %v", got)
	}
	for _, bad := range []string{"limit=0", "limit=501", "limit=x"} {
		if code, body := get("/api/v1/filenames?q=a&" + bad); code != 400 {
			t.Errorf("%s: status %d (%s); want 400", bad, code, body)
		}
	}
	code, body = get("/api/v1/filenames")
	if code != 200 {
		t.Fatalf("empty query: %d %s", code, body)
	}
	json.Unmarshal(body, &r)
	if len(r.Results) != 3 || r.Results[0].Positions == nil {
		t.Errorf("empty query: %s", body)
	}
}
