package lsp_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/sessiond/lsp/jsonrpc"
	"gatewave.dev/shared/testenv"
)

// transport moves one JSON-RPC message at a time; the benchmark drives the
// same client logic over stdio (directly) and over sessiond's WebSocket.
type transport interface {
	write([]byte) error
	read() ([]byte, error)
}

type stdio struct {
	w *jsonrpc.Writer
	r *jsonrpc.Reader
}

func (s stdio) write(b []byte) error  { return s.w.Write(b) }
func (s stdio) read() ([]byte, error) { return s.r.Read() }

type wsTransport struct{ c *websocket.Conn }

func (w wsTransport) write(b []byte) error { return w.c.WriteMessage(websocket.TextMessage, b) }
func (w wsTransport) read() ([]byte, error) {
	_, b, err := w.c.ReadMessage()
	return b, err
}

// roundTrip sends a request and reads until its response, answering the
// server's own requests with null as an editor would.
func roundTrip(tr transport, id int, method string, params any) (json.RawMessage, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	if err := tr.write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, p)); err != nil {
		return nil, err
	}
	want := fmt.Sprint(id)
	for {
		b, err := tr.read()
		if err != nil {
			return nil, err
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			if err := tr.write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":null}`, m.ID)); err != nil {
				return nil, err
			}
		case m.Method == "" && string(m.ID) == want:
			return m.Result, nil
		}
	}
}

func notifyTr(tr transport, method string, params any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	return tr.write(fmt.Appendf(nil, `{"jsonrpc":"2.0","method":%q,"params":%s}`, method, p))
}

// openMain initializes the server at rootURI and opens main.c.
func openMain(b *testing.B, tr transport, rootURI string) {
	b.Helper()
	if _, err := roundTrip(tr, 1, "initialize", map[string]any{"processId": nil, "rootUri": rootURI, "capabilities": map[string]any{}}); err != nil {
		b.Fatal(err)
	}
	if err := notifyTr(tr, "initialized", map[string]any{}); err != nil {
		b.Fatal(err)
	}
	if err := notifyTr(tr, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": rootURI + "/main.c", "languageId": "c", "version": 1, "text": mainC,
	}}); err != nil {
		b.Fatal(err)
	}
}

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}

// BenchmarkCompletion measures completion round trips through sessiond
// (WebSocket → proxy → clangd over stdio) against the same requests sent to
// another clangd over stdio directly, interleaved in the same run.
func BenchmarkCompletion(b *testing.B) {
	clangd := requireBinary(b, "clangd")
	ts := startServer(b, clangdWorkspace(), lsp.Config{})

	cmd := exec.Command(clangd, "--log=error")
	cmd.Dir = ts.Root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	direct := stdio{w: jsonrpc.NewWriter(in), r: jsonrpc.NewReader(out, jsonrpc.ReaderOptions{})}
	openMain(b, direct, "file://"+ts.Root)

	d := websocket.Dialer{HandshakeTimeout: testenv.WaitShort, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	conn, _, err := d.Dial(ts.wsURL("c"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	proxy := wsTransport{conn}
	openMain(b, proxy, "file:///workspace")

	params := func(root string) any {
		return map[string]any{"textDocument": map[string]string{"uri": root + "/main.c"}, "position": position(mainC, "return comp")}
	}
	directParams, proxyParams := params("file://"+ts.Root), params("file:///workspace")
	const warmup = 20
	samples := max(b.N, 300)
	var dLat, pLat []time.Duration
	b.ResetTimer()
	for i := range warmup + samples {
		id := 100 + i
		t0 := time.Now()
		if _, err := roundTrip(direct, id, "textDocument/completion", directParams); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		res, err := roundTrip(proxy, id, "textDocument/completion", proxyParams)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if i == 0 {
			if len(res) < 10 {
				b.Fatalf("empty completion through the proxy: %s", res)
			}
			b.ReportMetric(float64(len(res)), "result_bytes")
		}
		if i >= warmup {
			dLat = append(dLat, t1.Sub(t0))
			pLat = append(pLat, t2.Sub(t1))
		}
	}
	b.StopTimer()
	dp50, dp99 := percentile(dLat, 0.50), percentile(dLat, 0.99)
	pp50, pp99 := percentile(pLat, 0.50), percentile(pLat, 0.99)
	b.ReportMetric(dp50, "direct_p50_ms")
	b.ReportMetric(dp99, "direct_p99_ms")
	b.ReportMetric(pp50, "proxy_p50_ms")
	b.ReportMetric(pp99, "proxy_p99_ms")
	b.ReportMetric(pp50/dp50, "ratio")
	b.ReportMetric(pp50-dp50, "p50_added_ms")
	b.ReportMetric(pp99-dp99, "p99_added_ms")
	b.ReportMetric(float64(samples), "samples")
}
