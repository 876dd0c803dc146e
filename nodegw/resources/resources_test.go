package resources

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"gatewave.dev/shared/fleetproto"
)

func TestParseNvidiaSMI(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []fleetproto.GPU
		wantErr string
	}{
		{
			name: "two GPUs",
			// nvidia-smi --query-gpu=index,name,uuid,memory.total --format=csv,noheader,nounits
			in: "0, NVIDIA A100-SXM4-80GB, GPU-6f2b3c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b, 81920\n" +
				"1, NVIDIA GeForce RTX 4090, GPU-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d, 24564\n",
			want: []fleetproto.GPU{
				{Index: 0, Name: "NVIDIA A100-SXM4-80GB", UUID: "GPU-6f2b3c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", MemoryBytes: 81920 << 20},
				{Index: 1, Name: "NVIDIA GeForce RTX 4090", UUID: "GPU-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", MemoryBytes: 24564 << 20},
			},
		},
		{
			name: "CRLF and blank lines",
			in:   "\r\n0, Tesla T4, GPU-1, 15360\r\n\r\n",
			want: []fleetproto.GPU{{Index: 0, Name: "Tesla T4", UUID: "GPU-1", MemoryBytes: 15360 << 20}},
		},
		{name: "no GPUs", in: "", wantErr: "no GPUs"},
		{name: "header row", in: "index, name, uuid, memory.total [MiB]\n", wantErr: "index"},
		{name: "units left in", in: "0, Tesla T4, GPU-1, 15360 MiB\n", wantErr: "memory"},
		{name: "missing field", in: "0, Tesla T4, 15360\n", wantErr: "want 4 fields"},
		{name: "driver error text", in: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", wantErr: "want 4 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNvidiaSMI([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// Probe measures this machine: it has at least one core, some memory and
// a root file system (and no nvidia-smi here means no GPUs, no error).
func TestProbe(t *testing.T) {
	r, err := Probe(context.Background(), "")
	if err != nil {
		t.Logf("probe: %v", err) // a broken nvidia-smi; the rest must still be there
	}
	if r.CPUCores < 1 || r.MemoryBytes == 0 || r.DiskBytes == 0 {
		t.Fatalf("Probe = %+v", r)
	}
}
