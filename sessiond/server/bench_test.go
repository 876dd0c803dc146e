package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
)

// median runs f n times and returns the median duration.
func median(n int, f func()) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		f()
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2]
}

func makeFiles(b *testing.B, dir string, n int) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("cell_%06d.v", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func benchServer(b *testing.B, root string) (base string) {
	ts := start(&testing.T{}, func(o *serverOptions) { o.Root = root })
	return ts.URL
}

func apiGet(b *testing.B, url string) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var body []byte
	if res.ContentLength > 0 {
		body = make([]byte, res.ContentLength)
		_, err = io.ReadFull(res.Body, body)
	} else {
		body, err = io.ReadAll(res.Body)
	}
	if err != nil {
		b.Fatal(err)
	}
	if res.StatusCode != 200 {
		b.Fatalf("%s: %d %s", url, res.StatusCode, body)
	}
	return body
}

func sh(b *testing.B, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v", name, err)
	}
}

// BenchmarkListDir100k lists one directory of 100,000 files through the
// API, in the same run as `ls -f` (names and the types getdents gives) and
// `ls -fl` (a stat of each entry too). The names-only listing (stat=false)
// reports what `ls -f` does; the full listing (size, mtime) what `ls -fl`
// does; both are also compared with `ls -f`.
func BenchmarkListDir100k(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "big")
	makeFiles(b, dir, 100_000)
	base := benchServer(b, root)
	full := base + "/api/v1/files?path=big"
	names := full + "&stat=false"
	apiGet(b, full) // warm the dentry cache for both sides
	sh(b, "ls", "-f", dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ls := median(7, func() { sh(b, "ls", "-f", dir) })
		lsl := median(7, func() { sh(b, "ls", "-fl", dir) })
		apiNames := median(7, func() { apiGet(b, names) })
		apiFull := median(7, func() { apiGet(b, full) })
		b.ReportMetric(ms(ls), "ls_f_ms")
		b.ReportMetric(ms(lsl), "ls_fl_ms")
		b.ReportMetric(ms(apiNames), "names_ms")
		b.ReportMetric(ms(apiFull), "full_ms")
		b.ReportMetric(apiNames.Seconds()/ls.Seconds(), "names_ratio_vs_ls_f")
		b.ReportMetric(apiFull.Seconds()/ls.Seconds(), "full_ratio_vs_ls_f")
		b.ReportMetric(apiFull.Seconds()/lsl.Seconds(), "full_ratio_vs_ls_fl")
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkWalkTree100k walks a 100,000-file tree through the API, one
// request per directory, and compares with `find` (which, like the
// names-only listing, reads only the directories) in the same run.
func BenchmarkWalkTree100k(b *testing.B) {
	root := b.TempDir()
	for i := 0; i < 10; i++ {
		for j := 0; j < 10; j++ {
			makeFiles(b, filepath.Join(root, "tree", fmt.Sprintf("mod%d", i), fmt.Sprintf("sub%d", j)), 1000)
		}
	}
	base := benchServer(b, root)
	walk := func(query string) (files int) {
		queue := []string{"tree"}
		for len(queue) > 0 {
			dir := queue[0]
			queue = queue[1:]
			var l listing
			// A fast decoder, as a browser's JSON.parse is: the benchmark
			// measures the server, not encoding/json.
			if err := gojson.Unmarshal(apiGet(b, base+"/api/v1/files?path="+q(dir)+query), &l); err != nil {
				b.Fatal(err)
			}
			for _, e := range l.Entries {
				if e.Type == "dir" {
					queue = append(queue, e.Path)
				} else {
					files++
				}
			}
		}
		return files
	}
	for _, query := range []string{"", "&stat=false"} {
		if n := walk(query); n != 100_000 {
			b.Fatalf("walk%s found %d files", query, n)
		}
	}
	sh(b, "find", filepath.Join(root, "tree"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		find := median(5, func() { sh(b, "find", filepath.Join(root, "tree")) })
		names := median(5, func() { walk("&stat=false") })
		full := median(5, func() { walk("") })
		b.ReportMetric(ms(find), "find_ms")
		b.ReportMetric(ms(names), "names_ms")
		b.ReportMetric(ms(full), "full_ms")
		b.ReportMetric(names.Seconds()/find.Seconds(), "names_ratio_vs_find")
		b.ReportMetric(full.Seconds()/find.Seconds(), "full_ratio_vs_find")
	}
}

// BenchmarkIdle runs the sessiond binary for 30 s with a telemetry stream
// open (1 s interval) and reports its resident memory and CPU use.
func BenchmarkIdle(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "sessiond")
	if out, err := exec.Command("go", "build", "-o", bin, "gatewave.dev/sessiond/cmd/sessiond").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	root := b.TempDir()
	write(&testing.T{}, filepath.Join(root, "top.v"), "module top; endmodule\n")
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "serve", "--root", root, "--listen", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "SESSIOND_TOKEN="+testToken)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var host string
		sc := bufio.NewScanner(stdout)
		for host == "" && sc.Scan() {
			host, _ = cutURL(sc.Text())
		}
		if host == "" {
			b.Fatal("sessiond printed no URL")
		}
		go io.Copy(io.Discard, stdout)
		ts := &testServer{t: &testing.T{}, URL: "http://" + host}
		c, _, err := ts.dialWS("/api/v1/telemetry/stream", nil)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		time.Sleep(2 * time.Second) // settle after start-up
		t0, cpu0 := time.Now(), procCPU(b, cmd.Process.Pid)
		time.Sleep(30 * time.Second)
		cpu := (procCPU(b, cmd.Process.Pid) - cpu0) / time.Since(t0).Seconds()
		rss := procRSS(b, cmd.Process.Pid)
		c.Close()
		cmd.Process.Kill()
		cmd.Wait()
		b.ReportMetric(float64(rss)/(1<<20), "idle_rss_MiB")
		b.ReportMetric(100*cpu, "idle_cpu_%core")
	}
}

func cutURL(line string) (string, bool) {
	const p = "http://"
	i := strings.Index(line, p)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(p):]
	j := strings.Index(rest, "/")
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

// procCPU returns a process's user+system CPU seconds.
func procCPU(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

func procRSS(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
