package tasks_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"gatewave.dev/cloud/tasks"
	"gatewave.dev/shared/testenv"
)

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runningAt polls the API until the task runs (or ended) and returns when
// that was seen.
func (e *cloudEnv) untilRunning(id int64) time.Time {
	e.t.Helper()
	deadline := time.Now().Add(testenv.WaitLong)
	for time.Now().Before(deadline) {
		t, _ := e.task(id)
		switch t.State {
		case "running", "uploading", "succeeded":
			return time.Now()
		case "failed", "cancelled", "lost":
			e.t.Fatalf("task %d %s: %s", id, t.State, t.Detail)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("task %d never ran", id)
	return time.Time{}
}

// BenchmarkSubmitToRunning measures POST /api/v1/tasks until the task's
// command runs on a node, its environment image cached, over 30 tasks; the
// baseline in the same run is what the node cannot avoid, creating and
// starting a container of that image on dockerd. ratio = p50 / baseline p50.
func BenchmarkSubmitToRunning(b *testing.B) {
	const runs = 30
	e := newCloudEnv(b)
	e.startNode("node-a", 2)
	warm := e.submit(e.spec("envs/a/Dockerfile", "true"))
	if tk := e.waitState(warm.ID, "succeeded", "failed"); tk.State != "succeeded" {
		b.Fatalf("warm-up: %+v", tk)
	}
	image := e.get(warm.ID).Image
	var lat, base []time.Duration
	ctx := context.Background()
	for range b.N {
		for range runs {
			start := time.Now()
			tk := e.submit(e.spec("envs/a/Dockerfile", "sleep", "0.2"))
			lat = append(lat, e.untilRunning(tk.ID).Sub(start))
			e.waitState(tk.ID, "succeeded")

			start = time.Now()
			c, err := e.docker.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"true"}},
				&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := e.docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
				b.Fatal(err)
			}
			base = append(base, time.Since(start))
			_ = e.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
	b.ReportMetric(ms(percentile(base, 0.5)), "docker_start_p50_ms")
	b.ReportMetric(float64(percentile(lat, 0.5))/float64(percentile(base, 0.5)), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEnvBuild compares building a task's environment image with
// Docker's layer cache warm (only the last step of the Dockerfile is new)
// against cold (every step new), in the same run: the time between the
// building and running events of each task. ratio = warm / cold.
func BenchmarkEnvBuild(b *testing.B) {
	e := newCloudEnv(b)
	e.startNode("node-a", 2)
	// A first step that takes a while, as installing a toolchain does.
	heavy := func(nonce string) string {
		return fmt.Sprintf("RUN echo %s; i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; echo built > /etc/heavy\n", nonce)
	}
	phase := func(spec tasks.Spec) time.Duration {
		b.Helper()
		tk := e.submit(spec)
		if got := e.waitState(tk.ID, "succeeded", "failed"); got.State != "succeeded" || got.ImageCached {
			b.Fatalf("build: %+v", got)
		}
		_, ev := e.task(tk.ID)
		var building, running time.Time
		for _, x := range ev {
			switch x.State {
			case "building":
				building = x.At
			case "running":
				running = x.At
			}
		}
		if building.IsZero() || running.IsZero() {
			b.Fatalf("events: %+v", ev)
		}
		return running.Sub(building)
	}
	var cold, warm time.Duration
	for i := range b.N {
		for j := range 3 {
			nonce := fmt.Sprintf("%d-%d-%d", time.Now().UnixNano(), i, j)
			commit := e.commitFiles(map[string]string{
				"bench/cold/Dockerfile": "FROM gatewave/sessiond-scratch\n" + heavy(nonce) + "RUN echo cold\n",
				"bench/warm/Dockerfile": "FROM gatewave/sessiond-scratch\n" + heavy(nonce) + "RUN echo warm\n",
			})
			s := e.spec("bench/cold/Dockerfile", "true")
			s.EnvCommitID = commit
			cold += phase(s) // every layer new
			s.DockerfilePath = "bench/warm/Dockerfile"
			warm += phase(s) // the heavy layer is cached now
		}
	}
	n := float64(3 * b.N)
	b.ReportMetric(ms(cold)/n, "cold_ms")
	b.ReportMetric(ms(warm)/n, "warm_ms")
	b.ReportMetric(float64(warm)/float64(cold), "ratio")
	b.ReportMetric(0, "ns/op")
}
