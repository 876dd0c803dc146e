package pool

import "fmt"

// Size is the resource envelope of one container.
type Size struct {
	// CPUs is the CPU quota in cores (fractions allowed).
	CPUs float64
	// MemoryBytes is the hard memory limit (swap is not allowed on top).
	MemoryBytes int64
	// Pids caps the number of processes and threads; 0 means 4096.
	Pids int64
	// DiskBytes is the workspace's size: a disk of its own (a sparse ext4
	// image, loop-mounted), so a full workspace never fills the node's
	// disk. 0 means 16 GiB; negative means no quota (a plain Docker
	// volume, for machines without loop devices).
	DiskBytes int64
}

func (s Size) disk() int64 {
	if s.DiskBytes == 0 {
		return 16 * gib
	}
	return s.DiskBytes
}

func (s Size) pids() int64 {
	if s.Pids <= 0 {
		return 4096
	}
	return s.Pids
}

// Class is a kind of container the pool keeps warm, and how many.
type Class struct {
	// Name identifies the class ("standard", "burst"); claims may ask for one.
	Name string
	Size
	// Count is how many containers of this class the pool holds in total
	// (idle, starting, claimed and being destroyed together); in an
	// elastic pool, the most it grows to.
	Count int
	// Min is the fewest containers an elastic pool holds of this class
	// when idle (0 to Count); a fixed pool ignores it.
	Min int
}

const (
	gib = int64(1) << 30
	mib = int64(1) << 20
)

// Sizing configures Plan. Its zero value is the architecture's defaults:
// standard containers of 4 cores / 8 GiB, and over-subscribed burst
// containers of 1 core / 512 MiB on the cores left over, factor 2.
type Sizing struct {
	// Standard is the standard container; zero means 4 cores, 8 GiB.
	Standard Size
	// Burst is the over-subscribed container; zero means 1 core, 512 MiB.
	Burst Size
	// Oversubscribe is how many burst containers share one spare core;
	// 0 means 2. Negative disables burst containers.
	Oversubscribe float64
	// SpareCores are the cores kept out of standard containers for the
	// burst ones; 0 means one standard container's worth (4), which gives
	// 13 standard + 8 burst containers on a 56-core, 128 GiB node.
	SpareCores float64
	// HostMemoryBytes is memory kept for the host, nodegw and dockerd;
	// 0 means 4 GiB.
	HostMemoryBytes int64
	// StandardCount and BurstCount, when positive, replace the computed
	// counts (operators and tests pin them).
	StandardCount, BurstCount int
}

// Plan turns a node's resources into the classes its pool keeps warm.
func Plan(cores int, memoryBytes int64, s Sizing) ([]Class, error) {
	// An envelope with neither CPUs nor memory set takes the default (its
	// disk and pids settings are kept).
	if s.Standard.CPUs == 0 && s.Standard.MemoryBytes == 0 {
		s.Standard.CPUs, s.Standard.MemoryBytes = 4, 8*gib
	}
	if s.Burst.CPUs == 0 && s.Burst.MemoryBytes == 0 {
		s.Burst.CPUs, s.Burst.MemoryBytes = 1, 512*mib
	}
	if s.Oversubscribe == 0 {
		s.Oversubscribe = 2
	}
	if s.SpareCores == 0 {
		s.SpareCores = s.Standard.CPUs
	}
	if s.HostMemoryBytes == 0 {
		s.HostMemoryBytes = 4 * gib
	}
	if s.Standard.CPUs <= 0 || s.Standard.MemoryBytes <= 0 || s.Burst.CPUs <= 0 || s.Burst.MemoryBytes <= 0 {
		return nil, fmt.Errorf("pool sizing: container sizes need positive CPUs and memory (standard %+v, burst %+v)", s.Standard, s.Burst)
	}
	mem := memoryBytes - s.HostMemoryBytes
	std := s.StandardCount
	if std <= 0 {
		byCPU := int((float64(cores) - s.SpareCores) / s.Standard.CPUs)
		byMem := int(mem / s.Standard.MemoryBytes)
		std = max(0, min(byCPU, byMem))
	}
	burst := s.BurstCount
	if burst <= 0 && s.Oversubscribe > 0 {
		spare := float64(cores) - float64(std)*s.Standard.CPUs
		byCPU := int(spare / s.Burst.CPUs * s.Oversubscribe)
		byMem := int((mem - int64(std)*s.Standard.MemoryBytes) / s.Burst.MemoryBytes)
		burst = max(0, min(byCPU, byMem))
	}
	var classes []Class
	if std > 0 {
		classes = append(classes, Class{Name: "standard", Size: s.Standard, Count: std})
	}
	if burst > 0 {
		classes = append(classes, Class{Name: "burst", Size: s.Burst, Count: burst})
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("pool sizing: %d cores and %d MiB fit no container", cores, memoryBytes/mib)
	}
	return classes, nil
}

// Reserved is what classes hold of a node with cores cores: the cores of
// their containers (over-subscribed ones share, so never more than the
// node has) and their memory limits.
func Reserved(classes []Class, cores int) (cpus float64, memoryBytes int64) {
	for _, c := range classes {
		cpus += c.CPUs * float64(c.Count)
		memoryBytes += c.MemoryBytes * int64(c.Count)
	}
	return min(cpus, float64(cores)), memoryBytes
}
