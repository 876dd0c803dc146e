package git

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

func TestRoutesAnswerTheErrorShape(t *testing.T) {
	dir := newRepo(t, map[string]string{"a": "a\n"})
	s := service(t, dir)
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil)})
	s.Mount(app.Group("/api/v1"))
	call := func(method, url, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, url, b)
		}
		return resp.StatusCode, m
	}
	errCode := func(m map[string]any) any { e, _ := m["error"].(map[string]any); return e["code"] }
	if st, m := call("POST", "/api/v1/git/commit", `{"message":""}`); st != 400 || errCode(m) != "empty_message" {
		t.Fatalf("empty message: %d %v", st, m)
	}
	if st, m := call("POST", "/api/v1/git/branches", `{"name":"--upload-pack=x"}`); st != 400 || errCode(m) != "bad_request" {
		t.Fatalf("bad branch: %d %v", st, m)
	}
	if st, m := call("GET", "/api/v1/git/diff?path=../../etc/passwd", ""); st != 403 {
		t.Fatalf("outside: %d %v", st, m)
	}
	write(t, dir, "a", "b\n")
	if st, m := call("POST", "/api/v1/git/stage", `{"paths":["a"]}`); st != 200 || len(m["staged"].([]any)) != 1 {
		t.Fatalf("stage: %d %v", st, m)
	}
	if st, m := call("POST", "/api/v1/git/commit", `{"message":"x"}`); st != 200 || m["summary"] != "x" {
		t.Fatalf("commit: %d %v", st, m)
	}
	if st, m := call("POST", "/api/v1/git/push", `{}`); st != 404 || errCode(m) != "not_found" {
		t.Fatalf("push without a remote: %d %v", st, m)
	}
}
